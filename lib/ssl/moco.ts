// MoCo with Un-Mix: the CIFAR demo (spec §2.2–2.4: ResNet-18 CIFAR stem, SplitBatchNorm, symmetric
// or asymmetric loss, K 4096, m 0.99, T 0.1) and ImageNet MoCo v1/v2 (spec §4.1: ResNet-50, fc or MLP
// head, K 65536, m 0.999, T 0.07/0.2, asymmetric). One process: ShuffleBN is emulated as in the demo
// (a fresh permutation of the key batch around the key encoder), which only changes BN statistics
// when the key encoder uses SplitBatchNorm (bnSplits > 1); with plain BN it is a no-op. worldSize > 1
// (the default process group's ranks): the reference's distributed code (moco-ddp.ts), keys gathered
// from every rank before the enqueue and ShuffleBN across the ranks.
import { noGrad } from '../autograd';
import { autocast } from '../autocast';
import { randn, tensor } from '../creation';
import * as F from '../functional';
import { scope } from '../memory';
import { Module, StateDict } from '../nn/module';
import { ResNet, resnet18, resnet34, resnet50 } from '../nn/resnet';
import { Rng } from '../rng';
import { Device, Tensor } from '../tensor';
import * as is from '../validate';
import { configure, DeepPartial } from './config';
import { mocoHead } from './heads';
import { infoNce } from './losses';
import { SslMethod, StepContext, StepResult } from './method';
import { initMomentum, MomentumPairs, momentumUpdate } from './momentum';
import { defaultGroup, isInitialized } from '../distributed/init';
import type { ProcessGroup } from '../distributed/group';
import { batchShuffleDdp, batchUnshuffleDdp, concatAllGather } from './moco-ddp';
import { recordedStep } from './draws';
import { checkUnmixOptions, drawIfEnabled, MixParams, mixWithParams, UnmixOptions, unmixLoss } from './unmix';

export type MoCoArch = 'resnet18' | 'resnet34' | 'resnet50';

export interface MoCoOptions {
  arch: MoCoArch;
  /** cifar: 3×3/1 conv1 with torch's default init, no max pool (the demo); imagenet: torchvision's stem */
  stem: 'cifar' | 'imagenet';
  /** base width of the ResNet (64: the reference; smaller for quick CPU runs) */
  width: number;
  /** output size of the head (the reference's num_classes / --moco-dim) */
  dim: number;
  /** queue size */
  K: number;
  /** key-encoder momentum */
  m: number;
  /** softmax temperature, also for the mixed logits */
  T: number;
  /** >1: SplitBatchNorm with this many interleaved splits in both encoders (demo: 8) */
  bnSplits: number;
  /** both views act as query and key (demo script); false: x1 queries, x2 keys */
  symmetric: boolean;
  /** MoCo v2 head: Linear(f, f) → ReLU → Linear(f, dim) instead of Linear(f, dim) */
  mlp: boolean;
  /** permute the key batch around the key encoder (emulated ShuffleBN) */
  shuffleBn: boolean;
  unmix: UnmixOptions;
  /**
   * 2 (reference): in symmetric mode the mixture goes through the query encoder once per contrastive
   * call. 1: once per step, its output reused by both calls: the same loss and gradients, fewer
   * forwards, but BN running statistics see the mixture once instead of twice.
   */
  mixedForwards: 1 | 2;
  /** run both encoders in channels_last memory format (same results; faster convolutions on some hardware) */
  channelsLast?: boolean;
  /**
   * Speed option. true: the momentum update as two multi-tensor (_foreach_) calls; false: the
   * reference's per-parameter loop (the same numbers). Default: foreach on CUDA, as SGD.
   */
  foreach?: boolean;
  /**
   * Speed option for CUDA: the encoder forwards under bfloat16 autocast (as torch.autocast);
   * features return to float32 before the loss, and backward runs outside the region. null: off.
   * (float16 would need loss scaling, which unmix does not have yet.)
   */
  amp?: 'bfloat16' | null;
  /**
   * data parallelism: this process's rank and the number of processes; worldSize > 1 needs the
   * default process group of that size (initProcessGroup first) and CPU tensors (Gloo)
   */
  rank: number;
  worldSize: number;
  device?: Device;
}

export type MoCoPreset = 'cifar' | 'imagenet-v1' | 'imagenet-v2';

const UNMIX_CIFAR: UnmixOptions = { enabled: true, prob: 0.5, beta: 1.0 };

/**
 * The reference settings. imagenet-v1 uses main_moco_unmix.py's default --unmix_prob 0.0 (region only);
 * imagenet-v2 uses run.sh's 0.5 (the reported runs). ImageNet BN is plain BN here (bnSplits 1): the
 * reference's per-GPU BN over 32 images is what bnSplits 8 with a batch of 256 would emulate.
 */
export const MOCO_PRESETS: Record<MoCoPreset, Omit<MoCoOptions, 'device'>> = {
  cifar: {
    arch: 'resnet18',
    stem: 'cifar',
    width: 64,
    dim: 128,
    K: 4096,
    m: 0.99,
    T: 0.1,
    bnSplits: 8,
    symmetric: true,
    mlp: false,
    shuffleBn: true,
    unmix: UNMIX_CIFAR,
    mixedForwards: 2,
    rank: 0,
    worldSize: 1,
  },
  'imagenet-v1': {
    arch: 'resnet50',
    stem: 'imagenet',
    width: 64,
    dim: 128,
    K: 65536,
    m: 0.999,
    T: 0.07,
    bnSplits: 1,
    symmetric: false,
    mlp: false,
    shuffleBn: true,
    unmix: { enabled: true, prob: 0.0, beta: 1.0 },
    mixedForwards: 2,
    rank: 0,
    worldSize: 1,
  },
  'imagenet-v2': {
    arch: 'resnet50',
    stem: 'imagenet',
    width: 64,
    dim: 128,
    K: 65536,
    m: 0.999,
    T: 0.2,
    bnSplits: 1,
    symmetric: false,
    mlp: true,
    shuffleBn: true,
    unmix: UNMIX_CIFAR,
    mixedForwards: 2,
    rank: 0,
    worldSize: 1,
  },
};

/** A preset name plus any options, `unmix` in part. */
export type MoCoConfig = DeepPartial<MoCoOptions> & { preset?: MoCoPreset };

/** The random choices of one step, drawn together so a twin test can fix them. */
export interface MoCoChoices {
  /** null: no Un-Mix this step */
  mix: MixParams | null;
  /**
   * one permutation of the batch per key forward, in call order (symmetric: key of x2, then key of x1);
   * with worldSize > 1 of the global batch (every rank's, rank 0's permutation is used)
   */
  shufflePerms: Int32Array[];
}

const BACKBONES = { resnet18, resnet34, resnet50 };

/**
 * A ResNet with a projection head. The backbone's children are registered here directly, so the
 * state-dict names are torchvision's (conv1.weight, layer1.0.bn1.running_mean, fc.weight or
 * fc.0/fc.2 for the MLP head), as in the ImageNet reference's encoder_q/encoder_k.
 */
export class MoCoEncoder extends Module {
  readonly backbone: ResNet;
  readonly fc: Module;

  constructor(
    o: Pick<MoCoOptions, 'arch' | 'stem' | 'dim' | 'bnSplits' | 'mlp' | 'device'> & {
      width?: number;
      channelsLast?: boolean;
    },
  ) {
    super();
    this.backbone = BACKBONES[o.arch]({
      stem: o.stem,
      width: o.width ?? 64,
      channelsLast: o.channelsLast ?? false,
      bnSplits: o.bnSplits,
      stemInit: o.stem === 'cifar' ? 'default' : 'kaiming',
      device: o.device,
    });
    for (const [name, child] of this.backbone.namedChildren()) this.registerModule(name, child);
    this.fc = this.registerModule('fc', mocoHead(this.backbone.featureDim, o.dim, o.mlp, o.device));
  }

  /** Pooled backbone features [N, 512 or 2048]. */
  features(x: Tensor): Tensor {
    return this.backbone.forward(x);
  }

  /** Head output [N, dim], not normalized. */
  forward(x: Tensor): Tensor {
    return scope(() => this.fc.forward(this.backbone.forward(x)));
  }
}

export class MoCo extends SslMethod {
  readonly name = 'moco';
  readonly options: MoCoOptions;
  readonly encoderQ: MoCoEncoder;
  readonly encoderK: MoCoEncoder;
  private readonly momentumPairs: MomentumPairs;
  private ptr = 0;
  /** recorded draws to take instead of drawing (replayChoices), one per global step */
  private recordedChoices: MoCoChoices[] | null = null;
  /** the ranks keys and ShuffleBN go across (worldSize > 1), or null */
  private readonly group: ProcessGroup | null;

  constructor(config: MoCoConfig = {}) {
    super();
    const { preset = 'cifar', ...rest } = config;
    const o = (this.options = configure<MoCoOptions>('MoCo', MOCO_PRESETS, preset, rest));
    checkOptions(o);
    this.group = o.worldSize > 1 ? rankGroup(o) : null;
    this.encoderQ = this.registerModule('encoder_q', new MoCoEncoder(o));
    this.encoderK = this.registerModule('encoder_k', new MoCoEncoder(o));
    // The key encoder starts as a copy of the query encoder's parameters (not its buffers) and is never trained.
    this.momentumPairs = [[this.encoderQ, this.encoderK]];
    initMomentum(this.momentumPairs);
    this.registerBuffer(
      'queue',
      noGrad(() => scope(() => F.normalize(randn([o.dim, o.K], { device: o.device }), { dim: 0 }))),
    );
  }

  /** The negatives [dim, K], L2-normalized columns. */
  get queue(): Tensor {
    return this.buffer('queue')!;
  }

  /** Where the next keys go. */
  get queuePtr(): number {
    return this.ptr;
  }

  /** Keys enqueued per step for a per-process batch of `n`. */
  keysPerStep(n: number): number {
    return n * (this.options.symmetric ? 2 : 1) * this.options.worldSize;
  }

  /** This step's random choices, from `rng` in a fixed order: Un-Mix (r, λ, box), then the permutations. */
  drawChoices(shape: readonly number[], rng: Rng): MoCoChoices {
    const o = this.options;
    const mix = drawIfEnabled(shape, o.unmix, rng);
    const shufflePerms = o.shuffleBn
      ? Array.from({ length: o.symmetric ? 2 : 1 }, () => rng.permutation(shape[0] * o.worldSize))
      : [];
    return { mix, shufflePerms };
  }

  trainingStep(views: Tensor[], ctx: StepContext): StepResult {
    this.checkViews(views);
    return this.stepWith(
      views,
      recordedStep('MoCo', this.recordedChoices, ctx.iteration) ?? this.drawChoices(views[0].shape, ctx.rng),
    );
  }

  /**
   * Take step i's choices from `choices[i]` (i the global iteration) instead of drawing them: another
   * implementation's draws (readMoCoDraws), for exchanges between the two. null: draw again.
   */
  replayChoices(choices: MoCoChoices[] | null): void {
    this.recordedChoices = choices;
  }

  /**
   * One step with given choices: momentum update of the key encoder, the loss (spec §2.4), and the
   * keys enqueued. Public for twin tests; training calls trainingStep.
   */
  stepWith(views: Tensor[], choices: MoCoChoices): StepResult {
    this.checkViews(views);
    const o = this.options;
    const [x1, x2] = views;
    const n = x1.shape[0];
    const keys = this.keysPerStep(n);
    if (o.K % keys !== 0) {
      throw new Error(
        `MoCo: the queue size K=${o.K} must be a multiple of the keys enqueued per step (${keys} = batch ${n}${o.symmetric ? ' × 2 views' : ''})`,
      );
    }
    const calls = o.symmetric ? 2 : 1;
    if (o.shuffleBn) {
      if (choices.shufflePerms.length !== calls)
        throw new Error(`MoCo: expected ${calls} shuffle permutation(s), got ${choices.shufflePerms.length}`);
      for (const p of choices.shufflePerms) checkPermutation(p, n * o.worldSize);
    }
    momentumUpdate(this.momentumPairs, o.m, o.foreach); // θk ← m·θk + (1 − m)·θq, before any forward
    const body = () =>
      scope(() => {
        // The queue as it was before this step's enqueue: the graph keeps these negatives for backward.
        const queue = noGrad(() => this.queue.clone());
        const mixture = choices.mix ? mixWithParams(x1, choices.mix) : null;
        let shared: Tensor | null = null;
        const mixedOutput = mixture
          ? () =>
              o.mixedForwards === 1
                ? (shared ??= this.encode(this.encoderQ, mixture.mixed))
                : this.encode(this.encoderQ, mixture.mixed)
          : null;
        const perm = (i: number) => (o.shuffleBn ? choices.shufflePerms[i] : null);
        const first = this.contrastive(x1, x2, mixedOutput, perm(0), queue);
        const logs: [string, Tensor][] = [];
        let loss: Tensor;
        let enqueued: Tensor;
        if (o.symmetric) {
          // Second call: x2 queries against the key of x1; the mixture is still the one of x1.
          const second = this.contrastive(x2, x1, mixedOutput, perm(1), queue);
          loss = first.loss.add(second.loss);
          logs.push(['loss_12', first.loss], ['loss_21', second.loss]);
          if (mixture) {
            loss = unmixLoss(
              unmixLoss(loss, first.mixed!, first.flipped!, mixture.lam),
              second.mixed!,
              second.flipped!,
              mixture.lam,
            );
            logs.push(
              ['loss_m11', first.mixed!],
              ['loss_m12', first.flipped!],
              ['loss_m21', second.mixed!],
              ['loss_m22', second.flipped!],
            );
          }
          enqueued = F.cat([second.key, first.key]);
        } else {
          loss = mixture ? unmixLoss(first.loss, first.mixed!, first.flipped!, mixture.lam) : first.loss;
          logs.push(['loss_0', first.loss]);
          if (mixture) logs.push(['loss_m11', first.mixed!], ['loss_m12', first.flipped!]);
          enqueued = first.key;
        }
        this.enqueue(this.gatherKeys(enqueued));
        logs.unshift(['loss', loss]);
        const values = noGrad(() => F.stack(logs.map(([, t]) => t)).data());
        const out: Record<string, number> = Object.fromEntries(logs.map(([name], i) => [name, Number(values[i])]));
        if (mixture) {
          out.lam = mixture.lam;
          out.mix_global = mixture.kind === 'global' ? 1 : 0;
        }
        return { loss, logs: out };
      });
    // With amp, one region around the step, switched off (the loss stays float32) but holding
    // LibTorch's cache of casted weights, so the query encoder's weights are cast once per step, not
    // once per forward: each forward then switches autocast on inside it (encode).
    return o.amp ? autocast({ device: x1.device, dtype: o.amp, enabled: false }, body) : body();
  }

  /** Features for evaluation from the query encoder: the head output (not normalized) or the pooled backbone. */
  embed(images: Tensor, which: 'projection' | 'backbone'): Tensor {
    if (which === 'projection') return this.encoderQ.forward(images);
    if (which === 'backbone') return this.encoderQ.features(images);
    throw new Error(`MoCo.embed: expected 'projection' or 'backbone', got '${which as string}'`);
  }

  extraState(): Record<string, number> {
    return { queuePtr: this.ptr };
  }

  loadExtraState(state: Record<string, unknown>): void {
    if (!('queuePtr' in state)) return;
    const p = state.queuePtr;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= this.options.K) {
      throw new Error(`MoCo: queuePtr must be an integer in [0, ${this.options.K}), got ${JSON.stringify(p)}`);
    }
    this.ptr = p;
  }

  /** Loads a reference checkpoint's state dict (see fromReferenceStateDict), queue pointer included. */
  loadReferenceStateDict(state: StateDict): void {
    const { stateDict, queuePtr } = fromReferenceStateDict(state);
    this.loadStateDict(stateDict);
    if (queuePtr !== null) this.loadExtraState({ queuePtr });
  }

  /** Keys from every process, in rank order, before enqueueing (identity with one process). */
  protected gatherKeys(keys: Tensor): Tensor {
    return this.group ? concatAllGather(this.group, keys) : keys;
  }

  /** The reference's contrastive_loss: InfoNCE of q, and of the mixture and its reversal, against the same key. */
  private contrastive(
    imQ: Tensor,
    imK: Tensor,
    mixedOutput: (() => Tensor) | null,
    perm: Int32Array | null,
    queue: Tensor,
  ) {
    const q = F.normalize(this.encode(this.encoderQ, imQ), { dim: 1 });
    const qm = mixedOutput ? F.normalize(mixedOutput(), { dim: 1 }) : null;
    const key = this.keyForward(imK, perm);
    const T = this.options.T;
    const loss = infoNce(q, key, F.mm(q, queue), T);
    if (!qm) return { loss, mixed: null, flipped: null, key };
    const negatives = F.mm(qm, queue);
    // The reversed mixture's features are the reversed features of the mixture (no second forward).
    return {
      loss,
      mixed: infoNce(qm, key, negatives, T),
      flipped: infoNce(qm.flip(0), key, negatives.flip(0), T),
      key,
    };
  }

  /** An encoder's forward, under autocast when `amp` is set; the features come back in float32. */
  private encode(encoder: MoCoEncoder, x: Tensor): Tensor {
    const amp = this.options.amp;
    if (!amp) return encoder.forward(x);
    return scope(() => autocast({ device: x.device, dtype: amp }, () => encoder.forward(x)).float());
  }

  /** Normalized keys, the batch shuffled around the key encoder and restored after. */
  private keyForward(x: Tensor, perm: Int32Array | null): Tensor {
    return noGrad(() =>
      scope(() => {
        if (!perm) return F.normalize(this.encode(this.encoderK, x), { dim: 1 });
        if (this.group) {
          // across the ranks: this rank encodes its slice of the shuffled global batch
          const shuffled = batchShuffleDdp(this.group, x, perm);
          const k = F.normalize(this.encode(this.encoderK, shuffled.x), { dim: 1 });
          return batchUnshuffleDdp(this.group, k, shuffled.unshuffle);
        }
        const inverse = new Int32Array(perm.length);
        perm.forEach((p, i) => (inverse[p] = i));
        const shuffled = x.indexSelect(0, tensor(perm, { dtype: 'int64', device: x.device }));
        return F.normalize(this.encode(this.encoderK, shuffled), { dim: 1 }).indexSelect(
          0,
          tensor(inverse, { dtype: 'int64', device: x.device }),
        );
      }),
    );
  }

  /** Writes the keys (transposed) into columns [ptr, ptr + n) of the queue and advances ptr. */
  private enqueue(keys: Tensor): void {
    const n = keys.shape[0];
    noGrad(() => scope(() => this.queue.narrow(1, this.ptr, n).copy_(keys.t())));
    this.ptr = (this.ptr + n) % this.options.K;
  }

  private checkViews(views: Tensor[]): void {
    if (!Array.isArray(views) || views.length !== 2)
      throw new Error(`MoCo: expected two views [x1, x2], got ${Array.isArray(views) ? views.length : typeof views}`);
    const [a, b] = views;
    if (a.ndim !== 4 || a.shape.join() !== b.shape.join()) {
      throw new Error(
        `MoCo: the views must be two batches [N, C, H, W] of one shape, got [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`,
      );
    }
    if (a.shape[0] % this.options.bnSplits !== 0)
      throw new Error(`MoCo: the batch size ${a.shape[0]} must be a multiple of bnSplits=${this.options.bnSplits}`);
  }
}

/**
 * A reference MoCo state dict in this class's names: the CIFAR demo's `encoder_q.net.<i>.*`
 * (ModelBase's Sequential) become torchvision names; the ImageNet builder's names already match
 * (importTorchStateDict strips DDP's `module.`). `queue_ptr` is returned as a number.
 */
export function fromReferenceStateDict(state: StateDict): { stateDict: StateDict; queuePtr: number | null } {
  const demoNames: Record<string, string> = {
    0: 'conv1',
    1: 'bn1',
    3: 'layer1',
    4: 'layer2',
    5: 'layer3',
    6: 'layer4',
    9: 'fc',
  };
  const stateDict: StateDict = {};
  let queuePtr: number | null = null;
  for (const [key, t] of Object.entries(state)) {
    if (key === 'queue_ptr') {
      queuePtr = Number(t.item());
      continue;
    }
    const m = /^(encoder_[qk])\.net\.(\d+)\.(.+)$/.exec(key);
    if (m) {
      const name = demoNames[m[2]];
      if (!name) throw new Error(`MoCo: unexpected reference key '${key}' (ModelBase.net.${m[2]} has no parameters)`);
      stateDict[`${m[1]}.${name}.${m[3]}`] = t;
    } else {
      stateDict[key] = t;
    }
  }
  return { stateDict, queuePtr };
}

function checkOptions(o: MoCoOptions): void {
  if (!Object.hasOwn(BACKBONES, o.arch))
    throw new Error(`MoCo: unknown arch '${o.arch}' (use ${Object.keys(BACKBONES).join(', ')})`);
  if (o.stem !== 'cifar' && o.stem !== 'imagenet')
    throw new Error(`MoCo: stem must be 'cifar' or 'imagenet', got '${o.stem}'`);
  for (const k of ['dim', 'K', 'bnSplits'] as const) is.positiveInt('MoCo', k, o[k]);
  is.probability('MoCo', 'm', o.m);
  is.positive('MoCo', 'T', o.T);
  is.oneOf('MoCo', 'mixedForwards', o.mixedForwards, [1, 2]);
  checkUnmixOptions('MoCo', o.unmix, 'unmix.');
  if (o.amp != null && o.amp !== 'bfloat16')
    throw new RangeError(
      `MoCo: amp must be 'bfloat16' or null (float16 would need loss scaling, which unmix does not have yet), got '${String(o.amp)}'`,
    );
  is.positiveInt('MoCo', 'worldSize', o.worldSize);
  is.intInRange('MoCo', 'rank', o.rank, 0, o.worldSize - 1, 'below worldSize');
}

/** The default group, which must match the options' rank and worldSize. */
function rankGroup(o: MoCoOptions): ProcessGroup {
  const g = isInitialized() ? defaultGroup() : null;
  if (!g || g.worldSize !== o.worldSize || g.rank !== o.rank)
    throw new Error(
      `MoCo: worldSize ${o.worldSize}, rank ${o.rank} needs the default process group of those ranks ` +
        `(await u.distributed.initProcessGroup() first), got ${g ? `rank ${g.rank} of ${g.worldSize}` : 'none'}`,
    );
  return g;
}

function checkPermutation(p: Int32Array, n: number): void {
  const seen = new Uint8Array(n);
  const ok = p.length === n && p.every((v) => v >= 0 && v < n && !seen[v] && (seen[v] = 1) === 1);
  if (!ok) throw new Error(`MoCo: a shuffle permutation must be a permutation of 0..${n - 1}`);
}
