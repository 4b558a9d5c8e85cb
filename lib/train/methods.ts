// A method from the options of a run, as the examples record them (args.json, and the checkpoint's
// metadata): the one place that maps flags to MoCo, SwAV, BYOL and SimCLR, so a training script and
// rebuildTrained (rebuild.ts) build the same model from the same args.
import { BYOL } from '../ssl/byol';
import { SslMethod } from '../ssl/method';
import { MoCo } from '../ssl/moco';
import { SimCLR } from '../ssl/simclr';
import { SWAV_CIFAR, SWAV_IMAGENET, SwAV, SwavVariant } from '../ssl/swav';
import type { Device } from '../tensor';
import { activeGroup } from '../distributed/blocking';
import { SyncBatchNorm } from '../distributed/sync-batch-norm';

type Arch = 'resnet18' | 'resnet34' | 'resnet50';

/** MoCo CIFAR demo flags (unmix_c10.ts). */
export interface MoCoCifarArgs {
  arch: Arch;
  width: number;
  mocoDim: number;
  mocoK: number;
  mocoM: number;
  mocoT: number;
  bnSplits: number;
  symmetric: boolean;
  unmix: boolean;
  prob: number;
  beta: number;
  mixedForwards: 1 | 2;
  channelsLast?: boolean;
  foreach?: boolean;
  amp?: 'bfloat16';
}

/** MoCo v1/v2 ImageNet flags (unmix_moco_imagenet.ts). */
export interface MoCoImagenetArgs {
  arch: Arch;
  width: number;
  mocoDim: number;
  mocoK: number;
  mocoM: number;
  mocoT: number;
  mlp: boolean;
  beta: number;
  unmix_prob: number;
  unmix: boolean;
  bnSplits: number;
  channelsLast?: boolean;
  foreach?: boolean;
  amp?: 'bfloat16';
}

/** SwAV flags under the reference's names (unmix_swav_*.ts). */
export interface SwavArgs {
  arch: 'resnet18' | 'resnet50';
  width: number;
  hidden_mlp: number;
  feat_dim: number;
  nmb_prototypes: number;
  crops_for_assign: number[];
  temperature: number;
  epsilon: number;
  sinkhorn_iterations: number;
  queue_length: number;
  batch_size: number;
  epoch_queue_starts: number;
  freeze_prototypes_niters: number;
  unmix_prob: number;
  unmix_beta: number;
  run_swav: boolean;
  amp?: 'bfloat16';
  /** under N ranks: 'pytorch' (the default, as main_swav.py) converts BatchNorm to SyncBatchNorm */
  sync_bn?: 'pytorch' | 'none';
}

/** BYOL / SimCLR flags (unmix_byol_c10.ts, unmix_simclr_c10.ts). */
export interface SoloArgs {
  arch: 'resnet18' | 'resnet34';
  width: number;
  projHiddenDim: number;
  projOutputDim: number;
  /** BYOL only */
  predHiddenDim?: number;
  /** BYOL only: τ at the first step */
  baseTau?: number;
  /** SimCLR only */
  temperature?: number;
  unmix: boolean;
  prob: number;
  beta: number;
}

const DEPTH = { resnet18: [2, 2, 2, 2], resnet34: [3, 4, 6, 3] } as const;

/** Under N ranks: this process's place in the default group (1 rank when rebuilt for evaluation). */
export interface RunRanks {
  rank: number;
  worldSize: number;
}
const ONE: RunRanks = { rank: 0, worldSize: 1 };

export function buildMoCoCifar(o: MoCoCifarArgs, device?: Device, ranks: RunRanks = ONE): MoCo {
  return new MoCo({
    preset: 'cifar',
    rank: ranks.rank,
    worldSize: ranks.worldSize,
    arch: o.arch,
    width: o.width,
    dim: o.mocoDim,
    K: o.mocoK,
    m: o.mocoM,
    T: o.mocoT,
    bnSplits: o.bnSplits,
    symmetric: o.symmetric,
    mixedForwards: o.mixedForwards ?? 2,
    channelsLast: o.channelsLast ?? false,
    foreach: o.foreach,
    amp: o.amp ?? null,
    unmix: { enabled: o.unmix, prob: o.prob, beta: o.beta },
    device,
  });
}

/** MoCo v1 (fc head) or v2 (mlp), asymmetric, clean keys queued (spec §4.1). */
export function buildMoCoImagenet(o: MoCoImagenetArgs, device?: Device, ranks: RunRanks = ONE): MoCo {
  return new MoCo({
    preset: o.mlp ? 'imagenet-v2' : 'imagenet-v1',
    rank: ranks.rank,
    worldSize: ranks.worldSize,
    arch: o.arch,
    width: o.width,
    dim: o.mocoDim,
    K: o.mocoK,
    m: o.mocoM,
    T: o.mocoT,
    mlp: o.mlp,
    bnSplits: o.bnSplits,
    symmetric: false,
    unmix: { enabled: o.unmix, prob: o.unmix_prob, beta: o.beta },
    channelsLast: o.channelsLast ?? false,
    foreach: o.foreach,
    amp: o.amp ?? null,
    device,
  });
}

export function buildSwav(o: SwavArgs, variant: SwavVariant, device?: Device, worldSize = 1): SwAV {
  const preset = variant === 'imagenet' ? SWAV_IMAGENET : SWAV_CIFAR;
  const method = new SwAV({
    variant,
    backbone: { ...preset.backbone, layers: o.arch === 'resnet50' ? [3, 4, 6, 3] : [2, 2, 2, 2], width: o.width },
    hiddenMlp: o.hidden_mlp,
    featDim: o.feat_dim,
    nPrototypes: o.nmb_prototypes,
    temperature: o.temperature,
    epsilon: o.epsilon,
    sinkhornIterations: o.sinkhorn_iterations,
    cropsForAssign: o.crops_for_assign,
    queueLength: o.queue_length,
    batchSize: o.batch_size,
    worldSize, // the queue's rounding: batch_size · world_size
    epochQueueStarts: o.epoch_queue_starts,
    freezePrototypesIters: o.freeze_prototypes_niters,
    unmix: { enabled: !o.run_swav, prob: o.unmix_prob, beta: o.unmix_beta },
    amp: o.amp ?? null,
    device,
  });
  // main_swav.py's default sync_bn "pytorch": nn.SyncBatchNorm.convert_sync_batchnorm(model)
  if (worldSize > 1 && activeGroup() && (o.sync_bn ?? 'pytorch') === 'pytorch')
    SyncBatchNorm.convertSyncBatchnorm(method);
  return method;
}

/** BYOL or SimCLR on a CIFAR-stem ResNet (solo-learn's recipes, spec §7). */
export function buildSolo(method: 'byol' | 'simclr', o: SoloArgs, device?: Device): BYOL | SimCLR {
  if (!Object.hasOwn(DEPTH, o.arch))
    throw new Error(`${method}: arch must be resnet18 or resnet34, got '${String(o.arch)}'`);
  const backbone = { block: 'basic' as const, layers: [...DEPTH[o.arch]], stem: 'cifar' as const, width: o.width };
  const unmix = { enabled: o.unmix, prob: o.prob, beta: o.beta };
  if (method === 'byol') {
    return new BYOL({
      backbone,
      projHiddenDim: o.projHiddenDim,
      projOutputDim: o.projOutputDim,
      predHiddenDim: o.predHiddenDim ?? o.projHiddenDim,
      baseTau: o.baseTau ?? 0.99,
      unmix,
      device,
    });
  }
  return new SimCLR({
    backbone,
    projHiddenDim: o.projHiddenDim,
    projOutputDim: o.projOutputDim,
    temperature: o.temperature ?? 0.2,
    unmix,
    device,
  });
}

export const REBUILDABLE = ['moco', 'swav', 'byol', 'simclr'] as const;

/**
 * The method named `method` from a run's args (args.json / checkpoint metadata). MoCo runs of
 * unmix_moco_imagenet.ts and SwAV runs with variant 'imagenet' use their ImageNet builders.
 */
export function methodFromArgs(method: string, args: Record<string, unknown>, device?: Device): SslMethod {
  const a = args as never;
  if (method === 'moco')
    return args.example === 'unmix_moco_imagenet.ts' ? buildMoCoImagenet(a, device) : buildMoCoCifar(a, device);
  if (method === 'swav') {
    // a run under N ranks records them: its queue was rounded to batch_size · world_size
    const worldSize = typeof args.worldSize === 'number' ? args.worldSize : 1;
    return buildSwav(a, args.variant === 'imagenet' ? 'imagenet' : 'cifar', device, worldSize);
  }
  if (method === 'byol' || method === 'simclr') return buildSolo(method, a, device);
  throw new Error(`method '${method}' cannot be rebuilt (known: ${REBUILDABLE.join(', ')})`);
}
