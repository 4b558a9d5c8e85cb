// What the SwAV examples share (the reference's CIFAR and ImageNet main_swav_unmix.py take the same
// flags, with different defaults): the flags, the model, LARC + warmup/cosine, and the training run.
import { Command, Option } from 'commander';
import * as u from '../lib';
import { Pipeline, ViewSpec, SwAV, SwavVariant, checkDataFlags, type SwavArgs, Trainer, knnMonitor } from '../lib';
import {
  addBatchExchangeOptions,
  applyDtype,
  BatchExchangeOptions,
  checkReplayDraws,
  CommonOptions,
  commonTrainerOptions,
  normalization,
  OpenedData,
  parse,
  renormalize,
  say,
  trainLoader,
} from './common';

export interface SwavExampleOptions extends CommonOptions, BatchExchangeOptions, SwavArgs {
  amp?: 'bfloat16';
  arch: 'resnet18' | 'resnet50';
  width: number;
  hidden_mlp: number;
  feat_dim: number;
  nmb_prototypes: number;
  nmb_crops: number[];
  size_crops: number[];
  min_scale_crops: number[];
  max_scale_crops: number[];
  crops_for_assign: number[];
  temperature: number;
  epsilon: number;
  sinkhorn_iterations: number;
  queue_length: number;
  epoch_queue_starts: number;
  epochs: number;
  batch_size: number;
  base_lr: number;
  final_lr: number;
  freeze_prototypes_niters: number;
  wd: number;
  warmup_epochs: number;
  start_warmup: number;
  unmix_prob: number;
  unmix_beta: number;
  run_swav: boolean;
  dump_path?: string;
  knnEvery: number;
  knnK: number;
  knnT: number;
  initWeights?: string;
}

type Defaults = Pick<
  SwavExampleOptions,
  | 'arch'
  | 'hidden_mlp'
  | 'nmb_prototypes'
  | 'nmb_crops'
  | 'size_crops'
  | 'min_scale_crops'
  | 'max_scale_crops'
  | 'queue_length'
  | 'epochs'
  | 'batch_size'
  | 'warmup_epochs'
  | 'unmix_prob'
>;

/** CIFAR scripts (spec §3.1) and the ImageNet 200-epoch bs-256 script as one process (spec §4.2). */
export const SWAV_DEFAULTS: Record<SwavVariant, Defaults> = {
  cifar: {
    arch: 'resnet18',
    hidden_mlp: 512,
    nmb_prototypes: 100,
    nmb_crops: [2],
    size_crops: [32],
    min_scale_crops: [0.14],
    max_scale_crops: [1],
    queue_length: 120,
    epochs: 400,
    batch_size: 128,
    warmup_epochs: 5,
    unmix_prob: 0.5,
  },
  imagenet: {
    arch: 'resnet50',
    hidden_mlp: 2048,
    nmb_prototypes: 3000,
    nmb_crops: [2, 6],
    size_crops: [224, 96],
    min_scale_crops: [0.14, 0.05],
    max_scale_crops: [1, 0.14],
    queue_length: 3840,
    epochs: 200,
    batch_size: 256,
    warmup_epochs: 0,
    unmix_prob: 0,
  },
};

const nums = (v: string) => v.split(',').map(parse.num);

/** The reference's flags, under its names, with `d`'s defaults; seed 31 as fix_random_seeds(31). */
export function addSwavOptions(program: Command, d: Defaults): Command {
  program
    .addOption(
      new Option('--arch <arch>', 'Bottleneck ResNet: resnet18 = [2,2,2,2] (the CIFAR reference), resnet50 = [3,4,6,3]')
        .choices(['resnet18', 'resnet50'])
        .default(d.arch),
    )
    .option('--width <n>', 'channels after the stem (64 = the reference)', parse.int, 64)
    .option('--hidden_mlp <n>', 'hidden units of the projection head', parse.int, d.hidden_mlp)
    .option('--feat_dim <n>', 'feature dimension', parse.int, 128)
    .option('--nmb_prototypes <n>', 'number of prototypes', parse.int, d.nmb_prototypes)
    .option('--nmb_crops <list>', 'crops per resolution', parse.list, d.nmb_crops)
    .option('--size_crops <list>', 'crop size per resolution', parse.list, d.size_crops)
    .option('--min_scale_crops <list>', 'RandomResizedCrop minimum scale per resolution', nums, d.min_scale_crops)
    .option('--max_scale_crops <list>', 'RandomResizedCrop maximum scale per resolution', nums, d.max_scale_crops)
    .option('--crops_for_assign <list>', 'crops whose codes are computed', parse.list, [0, 1])
    .option('--temperature <t>', 'softmax temperature', parse.num, 0.1)
    .option('--epsilon <e>', 'Sinkhorn regularisation', parse.num, 0.05)
    .option('--sinkhorn_iterations <n>', 'Sinkhorn iterations', parse.int, 3)
    .option(
      '--queue_length <n>',
      'queue length (rounded down to a multiple of batch_size × ranks: 120 → 0 at batch 128)',
      parse.int,
      d.queue_length,
    )
    .option('--epoch_queue_starts <n>', 'epoch from which the queue is used', parse.int, 15)
    .option('--epochs <n>', 'epochs', parse.int, d.epochs)
    .option(
      '--batch_size <n>',
      "images per batch per rank, as the reference's per-GPU batch (under `unmix launch`, N × this per step)",
      parse.int,
      d.batch_size,
    )
    .option('--base_lr <lr>', 'learning rate after warmup', parse.num, 0.6)
    .option('--final_lr <lr>', 'learning rate at the end of the cosine', parse.num, 0.0006)
    .option('--freeze_prototypes_niters <n>', 'iterations during which the prototypes are frozen', parse.int, 5005)
    .option('--wd <wd>', 'weight decay (inside LARC)', parse.num, 1e-6)
    .option('--warmup_epochs <n>', 'linear warmup epochs', parse.int, d.warmup_epochs)
    .option('--start_warmup <lr>', 'learning rate at the start of the warmup', parse.num, 0)
    .option('--unmix_prob <p>', 'probability of the global mixture (else region)', parse.num, d.unmix_prob)
    .option('--unmix_beta <b>', 'λ ~ Beta(beta, beta)', parse.num, 1.0)
    .option('--run_swav', 'plain SwAV (the baseline rows)', false)
    .addOption(
      new Option(
        '--sync_bn <kind>',
        "under N ranks: pytorch (the reference's default) turns every BatchNorm into a SyncBatchNorm; none keeps each rank's own",
      ).choices(['pytorch', 'none']),
    )
    .option('--dump_path <dir>', "the reference's name for --results-dir")
    .option(
      '--knn-every <n>',
      'a kNN monitor on the backbone features every n epochs (0: off, as the reference)',
      parse.int,
      0,
    )
    .option('--knn-k <k>', 'kNN neighbours', parse.int, 200)
    .option('--knn-t <t>', 'kNN temperature', parse.num, 0.1)
    .option(
      '--init-weights <file>',
      "start from these weights: a torch.save state dict of the reference's model (src/resnet50.py names, e.g. from bench/parity/swav_c10.py --save-init), for exchanges between the two",
    )
    .addOption(
      new Option(
        '--amp <dtype>',
        'speed option for CUDA: backbone and head under autocast in this dtype (the reference uses apex amp O1; Sinkhorn and the loss stay float32)',
      ).choices(['bfloat16']),
    );
  addBatchExchangeOptions(program, 'bench/parity/swav_c10.py');
  return program;
}

/** Checks the per-resolution lists agree in length. */
export function checkCrops(o: SwavExampleOptions): void {
  const n = o.nmb_crops.length;
  if ([o.size_crops, o.min_scale_crops, o.max_scale_crops].some((l) => l.length !== n)) {
    throw new Error('--nmb_crops, --size_crops, --min_scale_crops and --max_scale_crops need one value per resolution');
  }
}

/** SGD(0.9) inside LARC(0.001, no clip), the per-iteration warmup + cosine, the trainer with an optional kNN monitor (the model: lib/train/methods.ts buildSwav, built before the data is opened). */
export async function trainSwav(
  name: string,
  o: SwavExampleOptions,
  variant: SwavVariant,
  method: SwAV,
  data: OpenedData,
  views: ViewSpec[],
  evalPipeline: Pipeline,
): Promise<void> {
  checkDataFlags(data, {
    batchSize: o.batch_size,
    batchFlag: '--batch_size',
    knn: o.knnEvery > 0 ? { k: o.knnK } : null,
  });
  const own = views[0].pipeline.find((s) => s.op === 'normalize') as {
    mean: [number, number, number];
    std: [number, number, number];
  };
  const stats = await normalization(o, data, own);
  views = renormalize(views, stats);
  evalPipeline = renormalize(evalPipeline, stats);
  const loader = trainLoader(data.train, { batchSize: o.batch_size, views, seed: o.seed, device: o.device }, o);
  const worldSize = u.distributed.getWorldSize();
  if (o.initWeights) {
    try {
      method.loadReferenceStateDict(u.importTorchStateDict(o.initWeights, { device: o.device }));
    } catch (e) {
      throw new Error(`--init-weights: ${o.initWeights}: ${(e as Error).message}`);
    }
  }
  applyDtype(method, o);
  const draws = checkReplayDraws(o, worldSize);
  if (draws) {
    const crops = o.nmb_crops.flatMap((n, i) => Array<number>(n).fill(o.size_crops[i]));
    method.replayChoices(u.readSwavDraws(draws, { batch: o.batch_size, unmix: !o.run_swav, crops }));
  }
  const itersPerEpoch = Math.min(loader.length, o.itersPerEpoch ?? Infinity);
  const { optimizer, lr } = u.swavOptimizer(method.trainableParameters(), {
    baseLr: o.base_lr,
    finalLr: o.final_lr,
    startWarmup: o.start_warmup,
    warmupEpochs: o.warmup_epochs,
    epochs: o.epochs,
    itersPerEpoch,
    weightDecay: o.wd,
  });
  const trainer = new Trainer({
    method,
    loader,
    optimizer,
    lr,
    epochs: o.epochs,
    ...commonTrainerOptions(o),
    inputDtype: o.dtype,
    evaluate:
      o.knnEvery > 0
        ? knnMonitor(method, data, {
            batchSize: 256,
            pipeline: evalPipeline,
            k: o.knnK,
            t: o.knnT,
            features: 'backbone',
            inputDtype: o.dtype,
          })
        : undefined,
    evaluateEvery: o.knnEvery || undefined,
    // the ranks set the queue's length (batch_size · world_size): a rebuilt run needs them
    args: { ...o, example: name, variant, normalization: stats, ...(worldSize > 1 ? { worldSize } : {}) },
  });
  const result = await trainer.run();
  if (result.interrupted) process.exit(130);
  say(
    `done: ${result.history.filter((r) => r.epoch > 0).length} epochs; results in ${o.resultsDir}. Linear evaluation: npx tsx examples/linear_eval.ts --checkpoint ${o.resultsDir}/checkpoint.safetensors`,
  );
}
