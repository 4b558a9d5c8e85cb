// BYOL (+Un-Mix). The Un-Mix repository has no BYOL code (spec §4.3), so the base method follows
// solo-learn's CIFAR recipe (spec §7; vturrisi/solo-learn solo/methods/byol.py): projector and
// predictor Linear→BN→ReLU→Linear (4096 → 256), a target backbone+projector updated as
// θt ← τθt + (1−τ)θo after each optimizer step with τ rising 0.99 → 1 on a cosine, and the
// symmetric loss Σ 2 − 2·cos(p_online(view a), z_target(view b)) over the two orderings.
// Un-Mix (spec §1): the mixture of x1 takes the online side, x2's target projection is its target:
//   L = L_byol(x1, x2) + λ·ℓ(p(xm), zt(x2)) + (1−λ)·ℓ(reverse(p(xm)), zt(x2)),  ℓ = 2 − 2·cos,
// the reversed term reversing the mixture's predictions (no second forward, spec §1 step 6).
import { noGrad } from '../autograd';
import { call } from '../dispatch';
import { scope } from '../memory';
import { BatchNorm1d, Linear, ReLU, Sequential } from '../nn/layers';
import { ResNet, ResNetOptions } from '../nn/resnet';
import { cosineMomentum } from '../optim/schedules';
import { Device, Tensor } from '../tensor';
import { SslMethod, StepContext, StepResult } from './method';
import { drawMixParams, MixParams, mixWithParams, UnmixOptions } from './unmix';

export interface ByolOptions {
  /** online and target backbone (no classifier); default ResNet-18 with the CIFAR stem */
  backbone: Omit<ResNetOptions, 'numClasses' | 'device'>;
  projHiddenDim: number;
  projOutputDim: number;
  predHiddenDim: number;
  /** τ at the first step; it rises to 1 over ctx.itersPerEpoch · ctx.totalEpochs steps */
  baseTau: number;
  unmix: UnmixOptions;
}

/** solo-learn's CIFAR BYOL (scripts/pretrain/cifar/byol.yaml); its optimizer: BYOL_CIFAR_RECIPE. */
export const BYOL_CIFAR: ByolOptions = {
  // solo-learn's CIFAR conv1 is 3×3/1 with padding 2 (34×34 maps), i.e. our 'swav-cifar' stem; 'cifar' is the MoCo demo's
  backbone: { block: 'basic', layers: [2, 2, 2, 2], stem: 'cifar' },
  projHiddenDim: 4096,
  projOutputDim: 256,
  predHiddenDim: 4096,
  baseTau: 0.99,
  unmix: { enabled: true, prob: 0.5, beta: 1.0 },
};

/** The optimizer of solo-learn's CIFAR recipes (spec §7): LARS with warmup-cosine, batch 256, 1000 epochs. */
export interface LarsRecipe {
  batchSize: number;
  epochs: number;
  lr: number;
  weightDecay: number;
  lars: { trustCoefficient: number; clip: boolean; excludeBiasAndNorm: boolean };
}

export const BYOL_CIFAR_RECIPE: LarsRecipe = {
  batchSize: 256,
  epochs: 1000,
  lr: 1.0,
  weightDecay: 1e-5,
  lars: { trustCoefficient: 0.02, clip: true, excludeBiasAndNorm: true },
};

/** Linear → BatchNorm1d → ReLU → Linear, with biases everywhere (torch.nn defaults, as solo-learn). */
export function mlpHead(inDim: number, hidden: number, out: number, device?: Device): Sequential {
  return new Sequential(new Linear(inDim, hidden, { device }), new BatchNorm1d(hidden, { device }), new ReLU(), new Linear(hidden, out, { device }));
}

/** solo-learn's byol_loss_func: 2 − 2·mean cos(p, z), z detached. */
export function byolLoss(p: Tensor, z: Tensor): Tensor {
  return scope(() => {
    const cos = call('cosine_similarity', [p, z.detach(), -1, 1e-8]) as Tensor;
    return cos.mean().mul(-2).add(2);
  });
}

export class BYOL extends SslMethod {
  readonly name = 'byol';
  readonly options: ByolOptions;
  readonly backbone: ResNet;
  readonly projector: Sequential;
  readonly predictor: Sequential;
  readonly momentumBackbone: ResNet;
  readonly momentumProjector: Sequential;
  /** τ of the last target update (NaN before the first) */
  lastTau = NaN;

  constructor(options: Partial<ByolOptions> & { device?: Device } = {}) {
    super();
    const { device, ...rest } = options;
    const o: ByolOptions = { ...BYOL_CIFAR, ...rest };
    for (const k of ['projHiddenDim', 'projOutputDim', 'predHiddenDim'] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 1) throw new RangeError(`BYOL: ${k} must be a positive integer, got ${o[k]}`);
    }
    if (!(o.baseTau >= 0 && o.baseTau <= 1)) throw new RangeError(`BYOL: baseTau must be in [0, 1], got ${o.baseTau}`);
    this.options = o;
    this.backbone = this.registerModule('backbone', new ResNet({ ...o.backbone, device }));
    const dim = this.backbone.featureDim;
    this.projector = this.registerModule('projector', mlpHead(dim, o.projHiddenDim, o.projOutputDim, device));
    this.predictor = this.registerModule('predictor', mlpHead(o.projOutputDim, o.predHiddenDim, o.projOutputDim, device));
    this.momentumBackbone = this.registerModule('momentum_backbone', new ResNet({ ...o.backbone, device }));
    this.momentumProjector = this.registerModule('momentum_projector', mlpHead(dim, o.projHiddenDim, o.projOutputDim, device));
    // initialize_momentum_params: parameters copied, never trained; buffers stay the target's own.
    noGrad(() => {
      for (const [online, target] of this.momentumPairs()) target.forEach((t, i) => t.copy_(online[i]).requiresGrad_(false));
    });
  }

  private momentumPairs(): [Tensor[], Tensor[]][] {
    return [
      [this.backbone.parameters(), this.momentumBackbone.parameters()],
      [this.projector.parameters(), this.momentumProjector.parameters()],
    ];
  }

  embed(images: Tensor, which: 'projection' | 'backbone'): Tensor {
    if (which === 'backbone') return this.backbone.forward(images);
    return scope(() => this.projector.forward(this.backbone.forward(images)));
  }

  trainingStep(views: Tensor[], ctx: StepContext): StepResult {
    checkTwoViews('BYOL', views);
    return this.stepWith(views, this.options.unmix.enabled ? drawMixParams(views[0].shape, this.options.unmix, ctx.rng) : null);
  }

  /** One step with given mixing parameters (null: plain BYOL). */
  stepWith(views: Tensor[], mix: MixParams | null): StepResult {
    checkTwoViews('BYOL', views);
    return scope((): StepResult => {
      const online = (x: Tensor) => this.predictor.forward(this.projector.forward(this.backbone.forward(x)));
      const [p1, p2] = views.map(online);
      const [zt1, zt2] = noGrad(() => views.map((x) => this.momentumProjector.forward(this.momentumBackbone.forward(x))));
      const clean = byolLoss(p2, zt1).add(byolLoss(p1, zt2)); // solo-learn's order: (P[1], Zm[0]) then (P[0], Zm[1])
      if (!mix) return { loss: clean, logs: { loss: clean.item(), loss_clean: clean.item() } };
      const m = mixWithParams(views[0], mix);
      const pm = online(m.mixed);
      const mixed = byolLoss(pm, zt2);
      const mixedReversed = byolLoss(pm.flip(0), zt2);
      const loss = clean.add(mixed.mul(m.lam)).add(mixedReversed.mul(1 - m.lam));
      return {
        loss,
        logs: { loss: loss.item(), loss_clean: clean.item(), loss_mix: mixed.item(), loss_mix_reversed: mixedReversed.item(), lam: m.lam, unmix_global: Number(m.kind === 'global') },
      };
    });
  }

  /** The target update after the optimizer step of iteration k: τ_k = 1 − (1 − τ_base)(cos(πk/K) + 1)/2. */
  afterOptimizerStep(ctx: StepContext): void {
    const total = ctx.itersPerEpoch * ctx.totalEpochs;
    if (!(total > 0)) throw new RangeError(`BYOL: the schedule needs itersPerEpoch · totalEpochs > 0, got ${ctx.itersPerEpoch} · ${ctx.totalEpochs}`);
    const tau = cosineMomentum(this.options.baseTau, total)(ctx.iteration);
    this.updateTarget(tau);
  }

  /** θt ← τ·θt + (1 − τ)·θo for the backbone and projector pairs. */
  updateTarget(tau: number): void {
    noGrad(() => {
      for (const [online, target] of this.momentumPairs()) {
        call('_foreach_mul_.Scalar', [target, tau]);
        call('_foreach_add_.List', [target, online], { alpha: 1 - tau });
      }
    });
    this.lastTau = tau;
  }
}

export function checkTwoViews(method: string, views: Tensor[]): void {
  if (!Array.isArray(views) || views.length !== 2) throw new Error(`${method}: expected 2 views, got ${Array.isArray(views) ? views.length : typeof views}`);
  const [a, b] = views;
  if (a.ndim !== 4 || a.shape.join() !== b.shape.join()) {
    throw new Error(`${method}: the two views must be [N, C, H, W] of one shape, got [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
  }
}
