// SwAV with Un-Mix as the reference main_swav_unmix.py files run it (spec §3, §4.2):
// - 'cifar': Bottleneck [2,2,2,2] with the padded 3×3 stem, head 2048→512→BN→ReLU→128, 100
//   prototypes, old Sinkhorn (shoot_infs, softmax then log), queue 120 that the rounding rule turns into 0;
// - 'imagenet': ResNet-50, head 2048→2048→BN→ReLU→128, 3000 prototypes, new Sinkhorn (log_softmax),
//   multi-crop with the crops mixed in pairs (0,1), (2,3), ..., queue 3840 from epoch 15.
// The Un-Mix loss is the code's, not the paper's: the flip term reverses only the code branch of
// crop 0 (§3.4); `unmixFlipPredictions: true` also reverses the mixtures' predictions (the paper).
import { autocast } from '../autocast';
import { noGrad } from '../autograd';
import * as F from '../functional';
import { cat } from '../functional';
import { zeros } from '../creation';
import { scope } from '../memory';
import { Linear } from '../nn/layers';
import { Module, StateDict } from '../nn/module';
import { ResNet, ResNetOptions } from '../nn/resnet';
import { Rng } from '../rng';
import { Device, Tensor } from '../tensor';
import * as is from '../validate';
import { configure, DeepPartial } from './config';
import { swavProjection } from './heads';
import { swappedPrediction } from './losses';
import { SslMethod, StepContext, StepResult } from './method';
import { sinkhornOverRanks, swavCodes } from './sinkhorn';
import { Box, boxLam, checkUnmixOptions, mixWithParams, randBbox, UnmixOptions, unmixLoss } from './unmix';
import { recordedStep } from './draws';

export type SwavVariant = 'cifar' | 'imagenet';

export interface SwavOptions {
  /** the ResNet (no classifier): its pooled features feed the projection head */
  backbone: Omit<ResNetOptions, 'numClasses' | 'device'>;
  /** hidden width of the projection head; 0: a single Linear */
  hiddenMlp: number;
  featDim: number;
  nPrototypes: number;
  temperature: number;
  epsilon: number;
  sinkhornIterations: number;
  /** 'old': the CIFAR file's Sinkhorn and log(softmax); 'new': the ImageNet file's Sinkhorn and log_softmax */
  sinkhorn: 'old' | 'new';
  improveNumericalStability: boolean;
  cropsForAssign: number[];
  /** queue_length as passed to the reference; the rounding rule below decides the real length */
  queueLength: number;
  /** the per-step batch the rounding rule divides by (the reference's batch_size); steps must use it while a queue exists */
  batchSize: number;
  worldSize: number;
  epochQueueStarts: number;
  freezePrototypesIters: number;
  unmix: UnmixOptions;
  /** false (default): the code (the flip term reverses only crop 0's codes); true: the paper's formula */
  unmixFlipPredictions: boolean;
  /**
   * Speed option for CUDA (the reference trains with apex amp O1): backbone and head under bfloat16
   * autocast, z and the scores back in float32 for Sinkhorn and the loss. null (default): off.
   */
  amp?: 'bfloat16' | null;
}

/** CIFAR scripts (spec §3.1): script values, parser defaults where the script sets none. */
export const SWAV_CIFAR: SwavOptions = {
  backbone: { block: 'bottleneck', layers: [2, 2, 2, 2], stem: 'swav-cifar' },
  hiddenMlp: 512,
  featDim: 128,
  nPrototypes: 100,
  temperature: 0.1,
  epsilon: 0.05,
  sinkhornIterations: 3,
  sinkhorn: 'old',
  improveNumericalStability: false,
  cropsForAssign: [0, 1],
  queueLength: 120,
  batchSize: 128,
  worldSize: 1,
  epochQueueStarts: 15,
  freezePrototypesIters: 5005,
  unmix: { enabled: true, prob: 0.5, beta: 1.0 },
  unmixFlipPredictions: false,
};

/** ImageNet (spec §4.2; the 200-epoch bs-256 script run as one process): queue 3840 from epoch 15, CutMix only. */
export const SWAV_IMAGENET: SwavOptions = {
  backbone: { block: 'bottleneck', layers: [3, 4, 6, 3], stem: 'imagenet' },
  hiddenMlp: 2048,
  featDim: 128,
  nPrototypes: 3000,
  temperature: 0.1,
  epsilon: 0.05,
  sinkhornIterations: 3,
  sinkhorn: 'new',
  improveNumericalStability: false,
  cropsForAssign: [0, 1],
  queueLength: 3840,
  batchSize: 256,
  worldSize: 1,
  epochQueueStarts: 15,
  freezePrototypesIters: 5005,
  unmix: { enabled: true, prob: 0.0, beta: 1.0 },
  unmixFlipPredictions: false,
};

export const SWAV_PRESETS: Record<SwavVariant, SwavOptions> = { cifar: SWAV_CIFAR, imagenet: SWAV_IMAGENET };

/** A preset name (`variant` is its older name) plus any options, nested ones in part. */
export type SwavConfig = DeepPartial<SwavOptions> & { preset?: SwavVariant; variant?: SwavVariant; device?: Device };

/** What the trainer sets up around SwAV (spec §3.1, §4.2): SGD(momentum 0.9) inside LARC, per-iteration warmup + cosine. */
export interface SwavRecipe {
  batchSize: number;
  epochs: number;
  baseLr: number;
  finalLr: number;
  startWarmup: number;
  warmupEpochs: number;
  momentum: number;
  weightDecay: number;
  larc: { trustCoefficient: number; clip: boolean };
}

/** script_unmix_c10.sh / c100.sh (400 epochs; the README table also has 200–1000) */
export const SWAV_CIFAR_RECIPE: SwavRecipe = {
  batchSize: 128,
  epochs: 400,
  baseLr: 0.6,
  finalLr: 0.0006,
  startWarmup: 0,
  warmupEpochs: 5,
  momentum: 0.9,
  weightDecay: 1e-6,
  larc: { trustCoefficient: 0.001, clip: false },
};

/** unmix_swav_200ep_bs256_pretrain.sh (4 GPUs × 64, here one batch of 256) */
export const SWAV_IMAGENET_RECIPE: SwavRecipe = {
  batchSize: 256,
  epochs: 200,
  baseLr: 0.6,
  finalLr: 0.0006,
  startWarmup: 0,
  warmupEpochs: 0,
  momentum: 0.9,
  weightDecay: 1e-6,
  larc: { trustCoefficient: 0.001, clip: false },
};

/** The reference's rule: queue_length -= queue_length % (batch_size · world_size) (120 % 128 → no queue). */
export function effectiveQueueLength(queueLength: number, batchSize: number, worldSize = 1): number {
  if (!Number.isInteger(queueLength) || queueLength < 0)
    throw new RangeError(`SwAV: queueLength must be a non-negative integer, got ${queueLength}`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`SwAV: batchSize must be a positive integer, got ${batchSize}`);
  return queueLength - (queueLength % (batchSize * worldSize));
}

/** One iteration's Un-Mix draws: r decides the kind for every pair; λ as drawn; region: one box per pair. */
export interface SwavMixChoices {
  kind: 'global' | 'region';
  lam: number;
  /** region only: the box of pair k/2 (crops k, k+1), drawn from the λ that pair k−2 left (spec §3.4 step 3) */
  boxes?: Box[];
}

/** The reference's draw order: r, λ, then per pair (CutMix only) the box centre from the overwritten λ. */
export function drawSwavMixChoices(
  shapes: readonly (readonly number[])[],
  options: UnmixOptions,
  rng: Rng,
): SwavMixChoices {
  checkUnmixOptions('Un-Mix', options);
  const r = rng.random();
  const lam = rng.beta(options.beta, options.beta);
  if (r < options.prob) return { kind: 'global', lam };
  const boxes: Box[] = [];
  let current = lam;
  for (let k = 0; k + 1 < shapes.length; k += 2) {
    const box = randBbox(shapes[k], current, rng);
    boxes.push(box);
    current = boxLam(box, shapes[k][2], shapes[k][3]);
  }
  return { kind: 'region', lam, boxes };
}

/** The reference model's own modules; everything else there is the trunk. */
const REFERENCE_HEADS = /^(projection_head|prototypes)\./;

export class SwAV extends SslMethod {
  readonly name = 'swav';
  readonly options: SwavOptions;
  readonly backbone: ResNet;
  readonly projectionHead: Module;
  readonly prototypes: Linear;
  /** the queue length after the rounding rule (0: no queue) */
  readonly queueSize: number;
  private useTheQueue = false;
  private queueFlagEpoch = -1;
  /** recorded Un-Mix choices to take instead of drawing (replayChoices), one per global step */
  private recordedChoices: (SwavMixChoices | null)[] | null = null;

  constructor(config: SwavConfig = {}) {
    super();
    const { variant = 'cifar', preset = variant, device, ...rest } = config;
    const o = (this.options = configure('SwAV', SWAV_PRESETS, preset, rest));
    for (const k of ['featDim', 'nPrototypes', 'worldSize'] as const) is.positiveInt('SwAV', k, o[k]);
    is.nonNegativeInt('SwAV', 'sinkhornIterations', o.sinkhornIterations);
    if (o.amp != null && o.amp !== 'bfloat16')
      throw new RangeError(
        `SwAV: amp must be 'bfloat16' or null (float16 would need loss scaling, which unmix does not have yet), got '${String(o.amp)}'`,
      );
    if (!(o.temperature > 0) || !(o.epsilon > 0))
      throw new RangeError(`SwAV: temperature and epsilon must be > 0, got ${o.temperature}, ${o.epsilon}`);
    if (!o.cropsForAssign.length || o.cropsForAssign.some((c) => !Number.isInteger(c) || c < 0)) {
      throw new RangeError(`SwAV: cropsForAssign must list crop indices, got [${o.cropsForAssign}]`);
    }
    checkUnmixOptions('SwAV', o.unmix, 'unmix.');
    this.backbone = this.registerModule('backbone', new ResNet({ ...o.backbone, device }));
    const dim = this.backbone.featureDim;
    this.projectionHead = this.registerModule('projection_head', swavProjection(dim, o.hiddenMlp, o.featDim, device));
    this.prototypes = this.registerModule('prototypes', new Linear(o.featDim, o.nPrototypes, { bias: false, device }));
    this.queueSize = effectiveQueueLength(o.queueLength, o.batchSize, o.worldSize);
    // Allocated now (zeros, as the reference creates it at epoch_queue_starts) so checkpoints carry it.
    this.registerBuffer(
      'queue',
      this.queueSize > 0 ? zeros([o.cropsForAssign.length, this.queueSize, o.featDim], { device }) : null,
    );
  }

  /** [crops for assign, queue length, featDim], or null when the rounding rule left no queue. */
  get queue(): Tensor | null {
    return this.buffer('queue');
  }

  /** Backbone per group of consecutive equal-width crops, then the head on all of them: (z L2-normalized, scores). */
  forwardCrops(crops: Tensor[]): { z: Tensor; scores: Tensor } {
    const amp = this.options.amp;
    if (!amp) return this.forwardCropsIn(crops);
    return scope(() => {
      const { z, scores } = autocast({ device: crops[0].device, dtype: amp }, () => this.forwardCropsIn(crops));
      return { z: z.float(), scores: scores.float() };
    });
  }

  private forwardCropsIn(crops: Tensor[]): { z: Tensor; scores: Tensor } {
    return scope(() => {
      const features: Tensor[] = [];
      for (let start = 0; start < crops.length;) {
        let end = start + 1;
        while (end < crops.length && crops[end].shape[3] === crops[start].shape[3]) end++;
        features.push(this.backbone.forward(cat(crops.slice(start, end))));
        start = end;
      }
      const z = F.normalize(this.projectionHead.forward(cat(features)), { dim: 1 });
      return { z, scores: this.prototypes.forward(z) };
    });
  }

  embed(images: Tensor, which: 'projection' | 'backbone'): Tensor {
    if (which === 'backbone') return this.backbone.forward(images);
    return scope(() => F.normalize(this.projectionHead.forward(this.backbone.forward(images)), { dim: 1 }));
  }

  drawChoices(views: Tensor[], rng: Rng): SwavMixChoices {
    return drawSwavMixChoices(
      views.map((v) => v.shape),
      this.options.unmix,
      rng,
    );
  }

  trainingStep(views: Tensor[], ctx: StepContext): StepResult {
    const recorded = recordedStep('SwAV', this.recordedChoices, ctx.iteration);
    if (recorded !== undefined) return this.stepWith(views, recorded, ctx);
    return this.stepWith(views, this.options.unmix.enabled ? this.drawChoices(views, ctx.rng) : null, ctx);
  }

  /**
   * Take step i's Un-Mix choices from `choices[i]` (i the global iteration) instead of drawing them: another
   * implementation's draws (readSwavDraws), for exchanges between the two. null: draw again.
   */
  replayChoices(choices: (SwavMixChoices | null)[] | null): void {
    this.recordedChoices = choices;
  }

  /** One step with given Un-Mix choices (null: plain SwAV, the `--run_swav` baseline). */
  stepWith(views: Tensor[], choices: SwavMixChoices | null, ctx: Pick<StepContext, 'epoch'>): StepResult {
    const o = this.options;
    const B = this.checkViews(views, choices !== null);
    if (choices?.kind === 'region' && choices.boxes?.length !== views.length / 2) {
      throw new Error(
        `SwAV: a region mixture needs one box per crop pair (${views.length / 2}), got ${choices.boxes?.length ?? 0}`,
      );
    }
    const queueOn = this.queueSize > 0 && ctx.epoch >= o.epochQueueStarts;
    if (queueOn && B !== o.batchSize) {
      throw new Error(
        `SwAV: the queue length was rounded for batchSize ${o.batchSize}, but this step has batches of ${B}`,
      );
    }
    if (ctx.epoch !== this.queueFlagEpoch) {
      this.useTheQueue = false; // the reference resets use_the_queue at every epoch's start
      this.queueFlagEpoch = ctx.epoch;
    }
    noGrad(() =>
      scope(() => {
        const w = this.prototypes.weight;
        w.copy_(F.normalize(w.clone(), { dim: 1 }));
      }),
    );
    return scope(() => {
      if (!choices) {
        const { z, scores } = this.forwardCrops(views);
        const loss = this.swavLoss(z.detach(), scores, B, views.length, false, queueOn);
        const value = loss.item();
        return { loss, logs: { loss: value, loss_ori: value, queue_used: Number(this.useTheQueue && queueOn) } };
      }
      // [c0, c1, mix0, c2, c3, mix2, ...], the mixtures of crops 0, 2, 4, ... with their reversed batches
      const inputs: Tensor[] = [];
      let lam = choices.lam;
      for (let k = 0; k < views.length; k += 2) {
        const box = choices.boxes?.[k / 2];
        const mix = mixWithParams(
          views[k],
          choices.kind === 'global' ? { kind: 'global', lam } : { kind: 'region', lam, box },
        );
        lam = mix.lam; // CutMix: each pair overwrites λ; the last pair's is the loss weight
        inputs.push(views[k], views[k + 1], mix.mixed);
      }
      const { z, scores } = this.forwardCrops(inputs);
      const part = (t: Tensor, i: number) => t.narrow(0, i * B, B);
      const order = (t: Tensor, pick: (triple: number) => [number, number]) =>
        cat(
          Array.from({ length: views.length / 2 }, (_, p) => pick(3 * p)).flatMap(([a, b]) => [part(t, a), part(t, b)]),
        );
      const output = order(scores, (t) => [t, t + 1]);
      const outUnmix = order(scores, (t) => [t + 2, t + 1]); // [mix0, c1, mix2, c3, ...]
      const zd = z.detach();
      const embedding = order(zd, (t) => [t, t + 1]);
      const embUnmix = order(zd, (t) => [t + 2, t + 1]);
      const lossOri = this.swavLoss(embedding, output, B, views.length, false, queueOn);
      const lossUnmix = this.swavLoss(embUnmix, outUnmix, B, views.length, false, queueOn);
      const lossFlip = this.swavLoss(embUnmix, outUnmix, B, views.length, true, queueOn);
      const loss = unmixLoss(lossOri, lossUnmix, lossFlip, lam);
      const logs = {
        loss: loss.item(),
        loss_ori: lossOri.item(),
        loss_unmix: lossUnmix.item(),
        loss_unmix_flip: lossFlip.item(),
        lam,
        unmix_global: Number(choices.kind === 'global'),
        queue_used: Number(this.useTheQueue && queueOn),
      };
      return { loss, logs };
    });
  }

  /**
   * swav_loss(embedding, output, reverse) of the reference, `nCrops` crops of B rows each. With the
   * queue on, it prepends queue·prototypesᵀ to the scores once the queue is full and pushes this
   * call's embeddings (each of the three calls per step pushes, as in the reference).
   */
  private swavLoss(emb: Tensor, out: Tensor, B: number, nCrops: number, reverse: boolean, queueOn: boolean): Tensor {
    const o = this.options;
    // The paper's formula: in the flip term the mixtures (even crops of out_unmix) predict reversed too.
    const flipPrediction = (v: number) => reverse && o.unmixFlipPredictions && v % 2 === 0;
    let loss: Tensor | null = null;
    for (const [i, cropId] of o.cropsForAssign.entries()) {
      const q = noGrad(() =>
        scope(() => {
          let scores = out.narrow(0, B * cropId, B).detach();
          if (reverse && cropId === 0) scores = scores.flip(0);
          const queue = queueOn ? this.queue : null;
          if (queue) {
            const qi = queue.select(0, i);
            const L = qi.shape[0];
            if (
              this.useTheQueue ||
              qi
                .select(0, L - 1)
                .ne(0)
                .any()
                .item()
            ) {
              this.useTheQueue = true;
              scores = cat([qi.mm(this.prototypes.weight.t()), scores]);
            }
            qi.narrow(0, B, L - B).copy_(qi.narrow(0, 0, L - B).clone());
            let e = emb.narrow(0, cropId * B, B);
            if (reverse && cropId === 0) e = e.flip(0);
            qi.narrow(0, 0, B).copy_(e);
          }
          // under N ranks the sums run over every rank's batch (and queue), as distributed_sinkhorn
          const codes = swavCodes(scores, {
            ...sinkhornOverRanks(),
            variant: o.sinkhorn,
            epsilon: o.epsilon,
            iterations: o.sinkhornIterations,
            improveNumericalStability: o.improveNumericalStability,
          });
          return codes.narrow(0, codes.shape[0] - B, B);
        }),
      );
      const scores = Array.from({ length: nCrops }, (_, v) => {
        const x = out.narrow(0, B * v, B);
        return v !== cropId && flipPrediction(v) ? x.flip(0) : x;
      });
      const part = swappedPrediction(q, scores, cropId, o.temperature, o.sinkhorn);
      loss = loss ? loss.add(part) : part;
    }
    return loss!.div(o.cropsForAssign.length);
  }

  private checkViews(views: Tensor[], unmix: boolean): number {
    if (!Array.isArray(views) || views.length < 2)
      throw new Error(`SwAV: expected at least 2 crops, got ${Array.isArray(views) ? views.length : typeof views}`);
    const B = views[0].shape[0];
    views.forEach((v, i) => {
      if (v.ndim !== 4 || v.shape[0] !== B || v.shape[1] !== views[0].shape[1]) {
        throw new Error(
          `SwAV: crop ${i} has shape [${v.shape.join(', ')}]; every crop must be [${B}, ${views[0].shape[1]}, H, W]`,
        );
      }
    });
    if (unmix && views.length % 2 !== 0)
      throw new Error(`SwAV: Un-Mix mixes crops in pairs (0,1), (2,3), ...; got ${views.length} crops`);
    const bad = this.options.cropsForAssign.find((c) => c >= views.length);
    if (bad !== undefined)
      throw new Error(`SwAV: cropsForAssign names crop ${bad}, but there are ${views.length} crops`);
    return B;
  }

  /** Prototypes stay fixed for the first freezePrototypesIters iterations: their gradients are dropped. */
  beforeOptimizerStep(ctx: StepContext): void {
    if (ctx.iteration < this.options.freezePrototypesIters) this.prototypes.weight.grad = null;
  }

  /**
   * Loads weights in the reference's names (main_swav_unmix.py's model: the trunk at the top level,
   * then projection_head.* and prototypes.*; ours has the trunk under backbone.). The queue is not
   * the model's there: it stays as it is here.
   */
  loadReferenceStateDict(state: StateDict): void {
    const ours = Object.fromEntries(
      Object.entries(state).map(([k, t]) => [REFERENCE_HEADS.test(k) ? k : `backbone.${k}`, t]),
    );
    // checked first: nothing is copied unless all of it fits
    const { missing, unexpected, error } = this.checkStateDict(ours, { strict: false });
    const absent = missing.filter((k) => k !== 'queue');
    if (error || absent.length || unexpected.length)
      throw new Error(
        `SwAV: the reference state dict does not fit (${error ?? `missing: ${absent.join(', ') || 'none'}; unexpected: ${unexpected.join(', ') || 'none'}`})`,
      );
    this.loadStateDict(ours, { strict: false });
  }

  /** This model's weights in the reference's names (loadReferenceStateDict's), the queue left out. */
  referenceStateDict(): StateDict {
    return Object.fromEntries(
      Object.entries(this.stateDict())
        .filter(([k]) => k !== 'queue')
        .map(([k, t]) => [k.replace(/^backbone\./, ''), t]),
    );
  }

  extraState(): Record<string, number> {
    return { useTheQueue: Number(this.useTheQueue), queueFlagEpoch: this.queueFlagEpoch };
  }

  loadExtraState(state: Record<string, unknown>): void {
    if (typeof state.useTheQueue === 'number') this.useTheQueue = state.useTheQueue !== 0;
    if (typeof state.queueFlagEpoch === 'number') this.queueFlagEpoch = state.queueFlagEpoch;
  }
}
