// BYOL (+Un-Mix). The Un-Mix repository has no BYOL code (spec §4.3), so the base method follows
// solo-learn's CIFAR recipe (spec §7; vturrisi/solo-learn solo/methods/byol.py): projector and
// predictor Linear→BN→ReLU→Linear (4096 → 256), a target backbone+projector updated as
// θt ← τθt + (1−τ)θo after each optimizer step with τ rising 0.99 → 1 on a cosine, and the
// symmetric loss Σ 2 − 2·cos(p_online(view a), z_target(view b)) over the two orderings.
// Un-Mix (spec §1): the mixture of x1 takes the online side, x2's target projection is its target:
//   L = L_byol(x1, x2) + λ·ℓ(p(xm), zt(x2)) + (1−λ)·ℓ(reverse(p(xm)), zt(x2)),  ℓ = 2 − 2·cos,
// the reversed term reversing the mixture's predictions (no second forward, spec §1 step 6).
import { noGrad } from '../autograd';
import { scope } from '../memory';
import { Sequential } from '../nn/layers';
import { ResNet, ResNetOptions } from '../nn/resnet';
import { cosineMomentum } from '../optim/schedules';
import { Device, Tensor } from '../tensor';
import * as is from '../validate';
import { configure, DeepPartial } from './config';
import { byolHead } from './heads';
import { byolLoss } from './losses';
import { SslMethod, StepContext, StepResult } from './method';
import { LarsRecipe } from './recipe';
import { initMomentum, MomentumPairs, momentumUpdate } from './momentum';
import { checkUnmixOptions, drawIfEnabled, MixParams, UnmixOptions, unmixStep } from './unmix';
import { checkTwoViews } from './views';

export { byolLoss } from './losses';
export type { LarsRecipe } from './recipe';

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

export type ByolPreset = 'cifar';
export const BYOL_PRESETS: Record<ByolPreset, ByolOptions> = { cifar: BYOL_CIFAR };

/** A preset name plus any options, nested ones in part. */
export type ByolConfig = DeepPartial<ByolOptions> & { preset?: ByolPreset; device?: Device };

export const BYOL_CIFAR_RECIPE: LarsRecipe = {
  batchSize: 256,
  epochs: 1000,
  lr: 1.0,
  weightDecay: 1e-5,
  lars: { trustCoefficient: 0.02, clip: true, excludeBiasAndNorm: true },
};

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
  private readonly momentumPairs: MomentumPairs;

  constructor(config: ByolConfig = {}) {
    super();
    const { preset = 'cifar', device, ...rest } = config;
    const o = (this.options = configure('BYOL', BYOL_PRESETS, preset, rest));
    for (const k of ['projHiddenDim', 'projOutputDim', 'predHiddenDim'] as const) is.positiveInt('BYOL', k, o[k]);
    is.probability('BYOL', 'baseTau', o.baseTau);
    checkUnmixOptions('BYOL', o.unmix, 'unmix.');
    this.backbone = this.registerModule('backbone', new ResNet({ ...o.backbone, device }));
    const dim = this.backbone.featureDim;
    this.projector = this.registerModule('projector', byolHead(dim, o.projHiddenDim, o.projOutputDim, device));
    this.predictor = this.registerModule(
      'predictor',
      byolHead(o.projOutputDim, o.predHiddenDim, o.projOutputDim, device),
    );
    this.momentumBackbone = this.registerModule('momentum_backbone', new ResNet({ ...o.backbone, device }));
    this.momentumProjector = this.registerModule(
      'momentum_projector',
      byolHead(dim, o.projHiddenDim, o.projOutputDim, device),
    );
    this.momentumPairs = [
      [this.backbone, this.momentumBackbone],
      [this.projector, this.momentumProjector],
    ];
    initMomentum(this.momentumPairs);
  }

  embed(images: Tensor, which: 'projection' | 'backbone'): Tensor {
    if (which === 'backbone') return this.backbone.forward(images);
    return scope(() => this.projector.forward(this.backbone.forward(images)));
  }

  trainingStep(views: Tensor[], ctx: StepContext): StepResult {
    checkTwoViews('BYOL', views);
    return this.stepWith(views, drawIfEnabled(views[0].shape, this.options.unmix, ctx.rng));
  }

  /** One step with given mixing parameters (null: plain BYOL). */
  stepWith(views: Tensor[], mix: MixParams | null): StepResult {
    checkTwoViews('BYOL', views);
    return scope((): StepResult => {
      const online = (x: Tensor) => this.predictor.forward(this.projector.forward(this.backbone.forward(x)));
      const [p1, p2] = views.map(online);
      const [zt1, zt2] = noGrad(() =>
        views.map((x) => this.momentumProjector.forward(this.momentumBackbone.forward(x))),
      );
      const clean = byolLoss(p2, zt1).add(byolLoss(p1, zt2)); // solo-learn's order: (P[1], Zm[0]) then (P[0], Zm[1])
      return unmixStep(clean, views[0], mix, online, (p) => byolLoss(p, zt2));
    });
  }

  /** The target update after the optimizer step of iteration k: τ_k = 1 − (1 − τ_base)(cos(πk/K) + 1)/2. */
  afterOptimizerStep(ctx: StepContext): void {
    const total = ctx.itersPerEpoch * ctx.totalEpochs;
    if (!(total > 0))
      throw new RangeError(
        `BYOL: the schedule needs itersPerEpoch · totalEpochs > 0, got ${ctx.itersPerEpoch} · ${ctx.totalEpochs}`,
      );
    const tau = cosineMomentum(this.options.baseTau, total)(ctx.iteration);
    this.updateTarget(tau);
  }

  /** θt ← τ·θt + (1 − τ)·θo for the backbone and projector pairs. */
  updateTarget(tau: number): void {
    momentumUpdate(this.momentumPairs, tau, true);
    this.lastTau = tau;
  }
}
