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
import { scope } from '../memory';
import { Sequential } from '../nn/layers';
import { ResNet, ResNetOptions } from '../nn/resnet';
import { Device, Tensor } from '../tensor';
import * as is from '../validate';
import { configure, DeepPartial } from './config';
import { simclrProjector } from './heads';
import { crossViewInfoNce, crossViewInfoNceGathered, ntXent, ntXentGathered } from './losses';
import { activeGroup } from '../distributed/blocking';
import { SslMethod, StepContext, StepResult } from './method';
import { LarsRecipe } from './recipe';
import { checkUnmixOptions, drawIfEnabled, MixParams, UnmixOptions, unmixStep } from './unmix';
import { checkTwoViews } from './views';

export { crossViewInfoNce, ntXent } from './losses';

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

export type SimclrPreset = 'cifar';
export const SIMCLR_PRESETS: Record<SimclrPreset, SimclrOptions> = { cifar: SIMCLR_CIFAR };

/** A preset name plus any options, nested ones in part. */
export type SimclrConfig = DeepPartial<SimclrOptions> & { preset?: SimclrPreset; device?: Device };

export const SIMCLR_CIFAR_RECIPE: LarsRecipe = {
  batchSize: 256,
  epochs: 1000,
  lr: 0.4,
  weightDecay: 1e-4,
  lars: { trustCoefficient: 0.02, clip: true, excludeBiasAndNorm: true },
};

export class SimCLR extends SslMethod {
  readonly name = 'simclr';
  readonly options: SimclrOptions;
  readonly backbone: ResNet;
  readonly projector: Sequential;

  constructor(config: SimclrConfig = {}) {
    super();
    const { preset = 'cifar', device, ...rest } = config;
    const o = (this.options = configure('SimCLR', SIMCLR_PRESETS, preset, rest));
    for (const k of ['projHiddenDim', 'projOutputDim'] as const) is.positiveInt('SimCLR', k, o[k]);
    is.positive('SimCLR', 'temperature', o.temperature);
    checkUnmixOptions('SimCLR', o.unmix, 'unmix.');
    this.backbone = this.registerModule('backbone', new ResNet({ ...o.backbone, device }));
    this.projector = this.registerModule(
      'projector',
      simclrProjector(this.backbone.featureDim, o.projHiddenDim, o.projOutputDim, device),
    );
  }

  embed(images: Tensor, which: 'projection' | 'backbone'): Tensor {
    if (which === 'backbone') return this.backbone.forward(images);
    return scope(() => this.projector.forward(this.backbone.forward(images)));
  }

  trainingStep(views: Tensor[], ctx: StepContext): StepResult {
    checkTwoViews('SimCLR', views);
    return this.stepWith(views, drawIfEnabled(views[0].shape, this.options.unmix, ctx.rng));
  }

  /** One step with given mixing parameters (null: plain SimCLR). Each batch has its own forward (BN statistics per view). */
  stepWith(views: Tensor[], mix: MixParams | null): StepResult {
    checkTwoViews('SimCLR', views);
    if (views[0].shape[0] < 2)
      throw new Error('SimCLR: a batch needs at least 2 samples (negatives come from the batch)');
    const T = this.options.temperature;
    return scope((): StepResult => {
      const project = (x: Tensor) => this.projector.forward(this.backbone.forward(x));
      const [z1, z2] = views.map(project);
      const group = activeGroup();
      if (!group) return unmixStep(ntXent(z1, z2, T), views[0], mix, project, (zm) => crossViewInfoNce(zm, z2, T));
      // under N ranks the negatives are every rank's embeddings, with gradients (solo-learn's gather)
      const [all1, all2] = [z1, z2].map((z) => group.allGatherWithGrad(z, { now: true }));
      const clean = ntXentGathered(z1, z2, all1, all2, group.rank, T);
      return unmixStep(clean, views[0], mix, project, (zm) => crossViewInfoNceGathered(zm, all2, group.rank, T));
    });
  }
}
