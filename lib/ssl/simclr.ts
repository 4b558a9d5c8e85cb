// SimCLR (+Un-Mix). The Un-Mix repository has no SimCLR code (spec §4.3); the base method follows
// solo-learn's CIFAR recipe (spec §7; solo/methods/simclr.py, solo/losses/simclr.py): projector
// Linear(features, 2048) → ReLU → Linear(2048, 256), NT-Xent at T = 0.2 over the 2N embeddings of
// both views (each anchor: its other view positive, the other 2N − 2 negative).
//
// Un-Mix (spec §1 step 5, §4.3; issue #5: β = 1, prob 0.5, two images per mixture; issue #4:
// lam·criterion(ori, mixed) + (1 − lam)·criterion(ori, mixed_flip)). The mixed term L(view, target)
// is defined here as: the N mixture embeddings are the anchors and x2's N embeddings are the
// candidates, positive at the same index, negatives the other N − 1 (cross-view InfoNCE at the same
// T). Other mixtures are not used as negatives: mixture N−1−i contains x1[i] itself (the
// reverse-order partner), so treating it as a negative would contradict the reversed term. So
//   L = NT-Xent(x1, x2) + λ·CE(m·z2ᵀ/T, i) + (1 − λ)·CE(reverse(m)·z2ᵀ/T, i),  m, z2 L2-normalized,
// the reversed term reversing the mixture's embeddings (no second forward, spec §1 step 6).
// Gradients flow into x2's embeddings too (SimCLR has no stop-gradient).
import * as F from '../functional';
import { arange } from '../creation';
import { scope } from '../memory';
import { Linear, ReLU, Sequential } from '../nn/layers';
import { ResNet, ResNetOptions } from '../nn/resnet';
import { Device, Tensor } from '../tensor';
import { checkTwoViews, LarsRecipe } from './byol';
import { SslMethod, StepContext, StepResult } from './method';
import { drawMixParams, MixParams, mixWithParams, UnmixOptions } from './unmix';

export interface SimclrOptions {
  /** default ResNet-18 with the CIFAR stem */
  backbone: Omit<ResNetOptions, 'numClasses' | 'device'>;
  projHiddenDim: number;
  projOutputDim: number;
  temperature: number;
  unmix: UnmixOptions;
}

/** solo-learn's CIFAR SimCLR (scripts/pretrain/cifar/simclr.yaml); its optimizer: SIMCLR_CIFAR_RECIPE. */
export const SIMCLR_CIFAR: SimclrOptions = {
  // as BYOL_CIFAR: solo-learn's padding-2 conv1 would be our 'swav-cifar' stem
  backbone: { block: 'basic', layers: [2, 2, 2, 2], stem: 'cifar' },
  projHiddenDim: 2048,
  projOutputDim: 256,
  temperature: 0.2,
  unmix: { enabled: true, prob: 0.5, beta: 1.0 },
};

export const SIMCLR_CIFAR_RECIPE: LarsRecipe = {
  batchSize: 256,
  epochs: 1000,
  lr: 0.4,
  weightDecay: 1e-4,
  lars: { trustCoefficient: 0.02, clip: true, excludeBiasAndNorm: true },
};

/**
 * NT-Xent over z = [z1; z2] (2N rows): −mean_i log(exp(s_i,pos)/Σ_{j≠i} exp(s_ij)), s = cos/T. The
 * same value as solo-learn's simclr_loss_func, computed as a cross entropy (log-sum-exp) for stability.
 */
export function ntXent(z1: Tensor, z2: Tensor, temperature: number): Tensor {
  return scope(() => {
    const n = z1.shape[0];
    const z = F.normalize(F.cat([z1, z2]), { dim: 1 });
    const self = arange(0, 2 * n, 1, { dtype: 'int64', device: z.device as Device });
    const logits = z.mm(z.t()).div(temperature).indexPut_([self, self], -Infinity);
    const positive = self.add(n).remainder(2 * n);
    return F.crossEntropy(logits, positive);
  });
}

/** The mixed term: anchors `m` against candidates `z2` (positive at the same index), cross entropy at T. */
export function crossViewInfoNce(anchors: Tensor, z2: Tensor, temperature: number): Tensor {
  return scope(() => {
    const logits = F.normalize(anchors, { dim: 1 }).mm(F.normalize(z2, { dim: 1 }).t()).div(temperature);
    return F.crossEntropy(logits, arange(0, anchors.shape[0], 1, { dtype: 'int64', device: anchors.device as Device }));
  });
}

export class SimCLR extends SslMethod {
  readonly name = 'simclr';
  readonly options: SimclrOptions;
  readonly backbone: ResNet;
  readonly projector: Sequential;

  constructor(options: Partial<SimclrOptions> & { device?: Device } = {}) {
    super();
    const { device, ...rest } = options;
    const o: SimclrOptions = { ...SIMCLR_CIFAR, ...rest };
    for (const k of ['projHiddenDim', 'projOutputDim'] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 1) throw new RangeError(`SimCLR: ${k} must be a positive integer, got ${o[k]}`);
    }
    if (!(o.temperature > 0)) throw new RangeError(`SimCLR: temperature must be > 0, got ${o.temperature}`);
    this.options = o;
    this.backbone = this.registerModule('backbone', new ResNet({ ...o.backbone, device }));
    this.projector = this.registerModule(
      'projector',
      new Sequential(new Linear(this.backbone.featureDim, o.projHiddenDim, { device }), new ReLU(), new Linear(o.projHiddenDim, o.projOutputDim, { device })),
    );
  }

  embed(images: Tensor, which: 'projection' | 'backbone'): Tensor {
    if (which === 'backbone') return this.backbone.forward(images);
    return scope(() => this.projector.forward(this.backbone.forward(images)));
  }

  trainingStep(views: Tensor[], ctx: StepContext): StepResult {
    checkTwoViews('SimCLR', views);
    return this.stepWith(views, this.options.unmix.enabled ? drawMixParams(views[0].shape, this.options.unmix, ctx.rng) : null);
  }

  /** One step with given mixing parameters (null: plain SimCLR). Each batch has its own forward (BN statistics per view). */
  stepWith(views: Tensor[], mix: MixParams | null): StepResult {
    checkTwoViews('SimCLR', views);
    if (views[0].shape[0] < 2) throw new Error('SimCLR: a batch needs at least 2 samples (negatives come from the batch)');
    const T = this.options.temperature;
    return scope((): StepResult => {
      const project = (x: Tensor) => this.projector.forward(this.backbone.forward(x));
      const [z1, z2] = views.map(project);
      const clean = ntXent(z1, z2, T);
      if (!mix) return { loss: clean, logs: { loss: clean.item(), loss_clean: clean.item() } };
      const m = mixWithParams(views[0], mix);
      const zm = project(m.mixed);
      const mixed = crossViewInfoNce(zm, z2, T);
      const mixedReversed = crossViewInfoNce(zm.flip(0), z2, T);
      const loss = clean.add(mixed.mul(m.lam)).add(mixedReversed.mul(1 - m.lam));
      return {
        loss,
        logs: { loss: loss.item(), loss_clean: clean.item(), loss_mix: mixed.item(), loss_mix_reversed: mixedReversed.item(), lam: m.lam, unmix_global: Number(m.kind === 'global') },
      };
    });
  }
}
