// A BYOL or SimCLR (+ Un-Mix) training run on a CIFAR-stem ResNet with solo-learn's CIFAR recipes
// (spec §7): LARS (η 0.02, clipped, biases and norms not adapted) around SGD 0.9, a per-step linear
// warmup and cosine to 0, the lr scaled by batch/256 (the batch of every rank, as solo-learn), BYOL's
// asymmetric or SimCLR's symmetric views at --crop, and the kNN monitor. Under N ranks (the default
// group, as the Trainer) every BatchNorm of the method, target networks included, becomes a
// SyncBatchNorm, as solo-learn's DDP runs (Lightning's sync_batchnorm converts the whole module).
// Every flag is checked before the model is built or data decoded, and the flags against the data
// before the first step. unmix_byol_c10.ts and unmix_simclr_c10.ts call this.
import { imageCount } from '../data/dataset';
import { activeGroup } from '../distributed/blocking';
import { SyncBatchNorm } from '../distributed/sync-batch-norm';
import { Loader } from '../data/loader';
import { byol as byolViews, CIFAR_MEAN, CIFAR_STD, simclr as simclrViews } from '../data/presets';
import { evalPipelineFor, openRunData, resolveNormalization, RunDataOptions } from '../data/run-data';
import type { Rgb } from '../data/stats';
import { knnMonitor } from '../eval/monitor';
import { LARC } from '../optim/larc';
import { warmupCosineLr } from '../optim/schedules';
import { SGD } from '../optim/sgd';
import { buildSolo, SoloArgs } from './methods';
import { checkDataFlags } from './check-flags';
import { TrainResult, Trainer, TrainerOptions } from './trainer';
import type { BYOL } from '../ssl/byol';
import type { SimCLR } from '../ssl/simclr';
import * as is from '../validate';

export interface SoloRunOptions extends SoloArgs, RunDataOptions {
  method: 'byol' | 'simclr';
  /** the script's name, kept in args.json */
  example: string;
  epochs: number;
  batchSize: number;
  lr: number;
  wd: number;
  warmupEpochs: number;
  crop: number;
  mean?: Rgb | 'data';
  std?: Rgb | 'data';
  knnK: number;
  knnT: number;
  /** 0: no kNN monitor */
  knnEvery: number;
  knnFeatures: 'projection' | 'backbone';
  resultsDir: string;
  /** under N ranks, BatchNorm statistics over every rank's batch (SyncBatchNorm), as solo-learn; default true */
  syncBatchNorm?: boolean;
  trainer?: Pick<
    TrainerOptions,
    | 'resume'
    | 'overwrite'
    | 'itersPerEpoch'
    | 'progress'
    | 'evaluateFirst'
    | 'tensorboard'
    | 'curves'
    | 'signal'
    | 'log'
    | 'ddp'
  >;
}

/** The flags alone: a clear error before anything is built or read. */
export function checkSoloFlags(o: SoloRunOptions): void {
  const int = (flag: string, v: number, min: number) => {
    if (!(Number.isInteger(v) && v >= min)) throw new Error(`${flag} must be an integer >= ${min}, got ${v}`);
  };
  int('--epochs', o.epochs, 1);
  int('--batch-size', o.batchSize, 2);
  int('--crop', o.crop, 8);
  int('--width', o.width, 1);
  int('--warmup-epochs', o.warmupEpochs, 0);
  int('--knn-every', o.knnEvery, 0);
  if (o.knnEvery > 0) int('--knn-k', o.knnK, 1);
  if (o.warmupEpochs >= o.epochs)
    throw new Error(`--warmup-epochs ${o.warmupEpochs} must be less than --epochs ${o.epochs}`);
  if (!(o.lr > 0)) throw new Error(`--lr must be > 0, got ${o.lr}`);
  if (!(o.wd >= 0)) throw new Error(`--wd must be >= 0, got ${o.wd}`);
  if (!(o.knnT > 0)) throw new Error(`--knn-t must be > 0, got ${o.knnT}`);
  if (!(o.prob >= 0 && o.prob <= 1)) throw new Error(`--prob must be in [0, 1], got ${o.prob}`);
  if (!(o.beta > 0)) throw new Error(`--beta must be > 0, got ${o.beta}`);
}

/** The args a run records (rebuildTrained builds the same method from them). */
function recordedArgs(o: SoloRunOptions): Record<string, unknown> {
  const { trainer: _trainer, log: _log, device: _device, ...args } = o;
  return args;
}

export async function trainSolo(o: SoloRunOptions): Promise<TrainResult> {
  return (await prepareSolo(o)).trainer.run();
}

/** trainSolo's method and Trainer, before the run (tests look at the method after it). */
export async function prepareSolo(o: SoloRunOptions): Promise<{ method: BYOL | SimCLR; trainer: Trainer }> {
  checkSoloFlags(o);
  if (o.syncBatchNorm !== undefined) is.boolean('trainSolo', 'syncBatchNorm', o.syncBatchNorm);
  const group = activeGroup();
  const print = o.trainer?.log ?? o.log ?? ((line: string) => console.log(line));
  const log = group && group.rank !== 0 ? () => {} : print; // rank 0 speaks, as the Trainer
  const method = buildSolo(o.method, o, o.device); // its own checks (dimensions, τ, temperature) before any data
  if (group && (o.syncBatchNorm ?? true)) SyncBatchNorm.convertSyncBatchnorm(method);
  const data = await openRunData({ ...o, log, warn: o.warn ?? ((line) => console.error(`warning: ${line}`)) });
  checkDataFlags(data, { batchSize: o.batchSize, knn: o.knnEvery > 0 ? { k: o.knnK } : null });
  const stats = await resolveNormalization(o, data.train, { mean: CIFAR_MEAN, std: CIFAR_STD });
  if (o.mean === 'data' || o.std === 'data')
    log(
      `normalisation measured on the training images: mean [${stats.mean.map((v) => v.toFixed(4))}], std [${stats.std.map((v) => v.toFixed(4))}]`,
    );
  const views = (o.method === 'byol' ? byolViews : simclrViews)({ size: o.crop, ...stats });
  const loader = new Loader(data.train, { batchSize: o.batchSize, views, seed: o.seed, device: o.device });
  const lr = (o.lr * o.batchSize * (group?.worldSize ?? 1)) / 256; // solo-learn: the batch of every device
  const optimizer = new LARC(new SGD(method.trainableParameters(), { lr, momentum: 0.9, weightDecay: o.wd }), {
    trustCoefficient: 0.02,
    clip: true,
    excludeBiasAndNorm: true,
  });
  const itersPerEpoch = Math.min(loader.length, o.trainer?.itersPerEpoch ?? Infinity);
  const schedule = warmupCosineLr({
    baseLr: lr,
    finalLr: 0,
    startWarmup: 0,
    warmupEpochs: o.warmupEpochs,
    epochs: o.epochs,
    itersPerEpoch,
  });
  const evaluate =
    o.knnEvery > 0
      ? knnMonitor(method, data, {
          batchSize: Math.max(o.batchSize, 256),
          pipeline: evalPipelineFor(data.train, o.crop, stats),
          k: o.knnK,
          t: o.knnT,
          features: o.knnFeatures,
        })
      : undefined;
  log(
    `${o.example}: ${o.method === 'byol' ? 'BYOL' : 'SimCLR'}${o.unmix ? ' + Un-Mix' : ''}, ${o.arch} width ${o.width}, ${o.epochs} epochs, batch ${o.batchSize}${group ? ` per rank × ${group.worldSize}` : ''} (lr ${lr}), crops ${o.crop}, ${imageCount(data.train)} images, ${o.device}`,
  );
  const trainer = new Trainer({
    method,
    loader,
    optimizer,
    lr: ({ iteration }) => schedule[Math.min(iteration, schedule.length - 1)],
    epochs: o.epochs,
    resultsDir: o.resultsDir,
    seed: o.seed,
    ...o.trainer,
    log,
    evaluate,
    evaluateEvery: o.knnEvery || undefined,
    args: { ...recordedArgs(o), normalization: stats },
  });
  return { method, trainer };
}
