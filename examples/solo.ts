// The BYOL and SimCLR examples' flags (solo-learn's CIFAR recipes, spec §7; the Un-Mix repository has
// no code for them, spec §4.3): parsed here, trained by lib/train/solo.ts.
import { Command, Option } from 'commander';
import * as u from '../lib';
import { trainSolo, SoloRunOptions } from '../lib';
import {
  addCommonOptions,
  applyPreset,
  CommonOptions,
  commonTrainerOptions,
  initFromLaunch,
  parse,
  run,
  say,
} from './common';

type Options = CommonOptions & Omit<SoloRunOptions, 'method' | 'example' | 'trainer' | 'log'>;

const RECIPES = {
  byol: { lr: 1.0, wd: 1e-5, projHiddenDim: 4096, projOutputDim: 256 },
  simclr: { lr: 0.4, wd: 1e-4, projHiddenDim: 2048, projOutputDim: 256 },
} as const;

/** A narrow ResNet-18 on 500 images per class for 6 epochs: a few minutes on 2 CPU cores. */
const SMOKE: Partial<Options> = {
  evalInit: true,
  width: 16,
  epochs: 6,
  batchSize: 128,
  warmupEpochs: 1,
  projHiddenDim: 512,
  predHiddenDim: 512,
  subset: 500,
  testSubset: 100,
};

export function soloMain(method: 'byol' | 'simclr', name: string, resultsDir: string): void {
  const r = RECIPES[method];
  const program = new Command(name)
    .description(
      `${method === 'byol' ? 'BYOL' : 'SimCLR'} + Un-Mix on CIFAR (solo-learn's CIFAR recipe; Un-Mix as issue #5: β 1, prob 0.5), on CPU or CUDA`,
    )
    .addOption(
      new Option('-a, --arch <arch>', 'backbone (CIFAR stem)').choices(['resnet18', 'resnet34']).default('resnet18'),
    )
    .option('--width <n>', 'base width of the ResNet (64 = the recipe)', parse.int, 64)
    .option('--epochs <n>', 'epochs', parse.int, 1000)
    .option(
      '--batch-size <n>',
      "images per batch per rank, as solo-learn's per-device batch (the lr is scaled by batch × ranks / 256)",
      parse.int,
      256,
    )
    .option('--lr <lr>', 'LARS learning rate at batch 256', parse.num, r.lr)
    .option('--wd <wd>', 'weight decay', parse.num, r.wd)
    .option('--warmup-epochs <n>', 'linear warmup epochs before the cosine', parse.int, 10)
    .option('--proj-hidden-dim <n>', 'projector hidden units', parse.int, r.projHiddenDim)
    .option('--proj-output-dim <n>', 'projection dimension', parse.int, r.projOutputDim);
  if (method === 'byol') {
    program
      .option('--pred-hidden-dim <n>', 'predictor hidden units', parse.int, 4096)
      .option('--base-tau <t>', 'target momentum at the first step (rises to 1 on a cosine)', parse.num, 0.99);
  } else {
    program.option('--temperature <t>', 'NT-Xent temperature', parse.num, 0.2);
  }
  program
    .option('--no-unmix', `plain ${method === 'byol' ? 'BYOL' : 'SimCLR'} (the baseline)`)
    .option('--prob <p>', 'probability of the global mixture (else region)', parse.num, 0.5)
    .option('--beta <b>', 'λ ~ Beta(beta, beta)', parse.num, 1.0)
    .option(
      '--crop <n>',
      'training crop size; kNN images of another size are resized and centre-cropped to it',
      parse.int,
      32,
    )
    .option('--knn-k <k>', 'kNN neighbours', parse.int, 200)
    .option('--knn-t <t>', 'kNN temperature', parse.num, 0.1)
    .addOption(
      new Option('--knn-features <which>', 'backbone (as lightly) or projection')
        .choices(['projection', 'backbone'])
        .default('backbone'),
    )
    .option('--knn-every <n>', 'run the kNN monitor every n epochs (0: off)', parse.int, 1);
  addCommonOptions(program, resultsDir);
  program.parse();
  let o = program.opts<Options>();
  if (o.preset === 'smoke') o = applyPreset(program, o, SMOKE);

  run(async () => {
    u.manualSeed(o.seed);
    await initFromLaunch(); // under `unmix launch`: DDP and SyncBatchNorm (lib/train/solo.ts)
    if (o.workers) process.env.UV_THREADPOOL_SIZE = String(o.workers);
    const t = commonTrainerOptions(o);
    const trainer = {
      resume: t.resume,
      overwrite: t.overwrite,
      itersPerEpoch: t.itersPerEpoch,
      progress: t.progress,
      evaluateFirst: t.evaluateFirst,
      tensorboard: t.tensorboard,
      curves: t.curves,
    };
    const result = await trainSolo({ ...o, method, example: name, trainer });
    if (result.interrupted) process.exit(130);
    const trained = result.history.filter((h) => h.epoch > 0);
    const last = trained[trained.length - 1];
    say(
      `done: kNN top-1 ${last?.['test_acc@1']?.toFixed(2) ?? '-'}% after ${trained.length} epochs; results in ${o.resultsDir}. Linear evaluation: npx tsx examples/linear_eval.ts --checkpoint ${o.resultsDir}`,
    );
  });
}
