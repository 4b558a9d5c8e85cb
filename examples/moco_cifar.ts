// MoCo + Un-Mix on CIFAR, as the reference's unmix_c10.py / unmix_c100.py (spec §2): ResNet-18 with the
// CIFAR stem and SplitBatchNorm(8), symmetric loss, K 4096, m 0.99, T 0.1, SGD 0.06 / 0.9 / 5e-4 with a
// per-epoch cosine, batch 512, 1000 epochs, the kNN monitor after every epoch. unmix_c10.ts and
// unmix_c100.ts call this with their results folder; --data picks the dataset.
import { Command, Option } from 'commander';
import * as u from '../lib';
import {
  evalPipelineFor,
  checkDataFlags,
  checkMoCoFlags,
  buildMoCoCifar,
  MoCoCifarArgs,
  Trainer,
  knnMonitor,
} from '../lib';
import {
  addBatchExchangeOptions,
  addCommonOptions,
  applyDtype,
  checkReplayDraws,
  applyPreset,
  CommonOptions,
  commonTrainerOptions,
  initFromLaunch,
  normalization,
  openData,
  parse,
  mocoRankBatch,
  run,
  say,
  speedOptions,
  trainLoader,
  BatchExchangeOptions,
} from './common';

const { CIFAR_MEAN, CIFAR_STD, mocoCifar } = u.presets;

export interface MoCoCifarOptions extends CommonOptions, BatchExchangeOptions, MoCoCifarArgs {
  lr: number;
  epochs: number;
  schedule: number[];
  cos: boolean;
  batchSize: number;
  wd: number;
  knnK: number;
  knnT: number;
  knnFeatures: 'projection' | 'backbone';
  knnEvery: number;
  crop: number;
  initWeights?: string;
}

/**
 * A narrow ResNet-18 (width 16) on 500 images per class for 3 epochs, the mixture forwarded once per
 * step (the same loss and gradients as the reference's two): about 7 minutes on 2 CPU cores, and the
 * kNN accuracy still rises clearly above the random-initialisation baseline it prints first.
 */
const SMOKE: Partial<MoCoCifarOptions> = {
  evalInit: true,
  width: 16,
  epochs: 3,
  mixedForwards: 1,
  batchSize: 128,
  bnSplits: 8,
  mocoK: 1024,
  subset: 500,
  testSubset: 100,
  lr: 0.06,
};

export function mocoCifarMain(name: string, resultsDir: string): void {
  const program = new Command(name)
    .description(`MoCo + Un-Mix on CIFAR (the reference's ${name.replace('.ts', '.py')}), on CPU or CUDA`)
    .addOption(
      new Option('-a, --arch <arch>', 'backbone').choices(['resnet18', 'resnet34', 'resnet50']).default('resnet18'),
    )
    .option('--width <n>', 'base width of the ResNet (64 = the reference)', parse.int, 64)
    .option('--lr <lr>', 'initial learning rate', parse.num, 0.06)
    .option('--epochs <n>', 'epochs', parse.int, 1000)
    .option('--schedule <epochs>', 'lr ×0.1 at these epochs (without --cos)', parse.list, [600, 900])
    .option('--cos', 'cosine lr schedule (the default)', true)
    .option('--no-cos', 'step schedule instead of cosine')
    .option(
      '--batch-size <n>',
      'images per step over all ranks (under `unmix launch`, each rank takes batch/N, as main_moco.py)',
      parse.int,
      512,
    )
    .option('--wd <wd>', 'weight decay', parse.num, 5e-4)
    .option('--moco-dim <n>', 'feature dimension', parse.int, 128)
    .option('--moco-k <n>', 'queue size (a multiple of the keys per step)', parse.int, 4096)
    .option('--moco-m <m>', 'key-encoder momentum', parse.num, 0.99)
    .option('--moco-t <t>', 'softmax temperature', parse.num, 0.1)
    .option('--bn-splits <n>', 'SplitBatchNorm splits (1 = plain BN)', parse.int, 8)
    .option('--symmetric', 'symmetric loss (the default, as the script)', true)
    .option('--no-symmetric', "asymmetric loss (the paper's asymmetric rows)")
    .option('--no-unmix', 'plain MoCo (the baseline rows)')
    .option('--prob <p>', 'probability of the global mixture (else region)', parse.num, 0.5)
    .option('--beta <b>', 'λ ~ Beta(beta, beta)', parse.num, 1.0)
    .addOption(
      new Option('--mixed-forwards <n>', '2: the reference (mixture forwarded per contrastive call); 1: once per step')
        .choices(['1', '2'])
        .default(2)
        .argParser((v) => Number(v) as 1 | 2),
    )
    .addOption(speedOptions.channelsLast())
    .addOption(speedOptions.amp())
    .addOption(speedOptions.foreach())
    .option('--knn-k <k>', 'kNN neighbours', parse.int, 200)
    .option('--knn-t <t>', 'kNN temperature', parse.num, 0.1)
    .addOption(
      new Option('--knn-features <which>', 'projection (the reference) or backbone')
        .choices(['projection', 'backbone'])
        .default('projection'),
    )
    .option('--knn-every <n>', 'run the kNN monitor every n epochs', parse.int, 1)
    .option(
      '--crop <n>',
      'training crop size (RandomResizedCrop); the kNN images are resized and centre-cropped to it when their size differs',
      parse.int,
      32,
    )
    .option(
      '--init-weights <file>',
      "start from these weights: a torch.save state dict of the reference's ModelMoCo (e.g. from bench/parity/moco_c10.py --save-init), for exchanges between the two",
    );
  addBatchExchangeOptions(program, 'bench/parity/moco_c10.py');
  addCommonOptions(program, resultsDir);
  program.parse();
  let o = program.opts<MoCoCifarOptions>();
  if (o.preset === 'smoke') o = applyPreset(program, o, SMOKE);

  run(async () => {
    u.manualSeed(o.seed);
    const ranks = await initFromLaunch();
    say(
      `unmix: ${name}: ${o.unmix ? 'MoCo + Un-Mix' : 'MoCo'} (${o.symmetric ? 'symmetric' : 'asymmetric'}), ${o.arch} width ${o.width}, ${o.epochs} epochs, batch ${o.batchSize}${ranks.worldSize > 1 ? ` (${ranks.worldSize} ranks)` : ''}, ${o.device}`,
    );
    checkMoCoFlags(o); // before anything is built or decoded; the queue takes every rank's keys
    const batchSize = mocoRankBatch(o, ranks.worldSize);
    const method = buildMoCoCifar(o, o.device, ranks);
    const data = await openData(o);
    checkDataFlags(data, { batchSize: o.batchSize, knn: { k: o.knnK } });
    const stats = await normalization(o, data, { mean: CIFAR_MEAN, std: CIFAR_STD });
    const loader = trainLoader(
      data.train,
      { batchSize, views: mocoCifar({ size: o.crop, ...stats }), seed: o.seed, device: o.device },
      o,
    );
    if (o.initWeights) method.loadReferenceStateDict(u.importTorchStateDict(o.initWeights, { device: o.device }));
    applyDtype(method, o);
    const draws = checkReplayDraws(o, ranks.worldSize);
    if (draws)
      method.replayChoices(
        u.readMoCoDraws(draws, {
          batch: batchSize,
          symmetric: o.symmetric,
          unmix: o.unmix,
          height: o.crop,
          width: o.crop,
        }),
      );
    // The reference: SGD over model.parameters() (the key encoder has no grads), wd on everything.
    const optimizer = new u.SGD(method.trainableParameters(), {
      lr: o.lr,
      momentum: 0.9,
      weightDecay: o.wd,
      foreach: o.foreach,
    });
    // adjust_learning_rate(epoch) with 1-indexed epochs: cosine, or ×0.1 at each milestone passed
    const lr = u.mocoLr({ lr: o.lr, epochs: o.epochs, cos: o.cos, milestones: o.schedule, firstEpoch: 1 });
    const trainer = new Trainer({
      method,
      loader,
      optimizer,
      lr,
      epochs: o.epochs,
      ...commonTrainerOptions(o),
      inputDtype: o.dtype,
      evaluate: knnMonitor(method, data, {
        batchSize: Math.max(o.batchSize, 256),
        pipeline: evalPipelineFor(data.train, o.crop, stats),
        k: o.knnK,
        t: o.knnT,
        features: o.knnFeatures,
        inputDtype: o.dtype,
      }),
      evaluateEvery: o.knnEvery,
      args: { ...o, example: name, normalization: stats },
    });
    const result = await trainer.run();
    if (result.interrupted) process.exit(130);
    const trained = result.history.filter((r) => r.epoch > 0);
    const last = trained[trained.length - 1];
    say(
      `done: kNN top-1 ${last?.['test_acc@1']?.toFixed(2) ?? '-'}% after ${trained.length} epochs; results in ${o.resultsDir}`,
    );
  });
}
