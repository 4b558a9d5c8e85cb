// Linear evaluation of a trained backbone: the Un-Mix SwAV CIFAR protocol (spec §3.5) by default —
// frozen eval-mode backbone, pooled features, Linear(N(0, 0.01)), SGD 0.3 / 0.9 / wd 1e-6, cosine over
// 100 epochs, batch 32, RandomResizedCrop(32) + flip, std (0.2470, 0.2435, 0.2616), best top-1 reported.
// The MoCo protocol (spec §4.1) is --lr 30 --wd 0 --schedule step --milestones 60,80 --batch-size 256.
// --no-augment computes the features once and trains on them (much faster on a CPU; no crops or flips).
//   npx tsx examples/linear_eval.ts --checkpoint exp/unmix_swav_c10/checkpoint.safetensors --data cifar-10-binary.tar.gz
import { Command, Option } from 'commander';
import * as u from '../lib';
import { Loader, Pipeline, evalPipelineFor, parseRgb, type Rgb, linearProbe, rebuildTrained } from '../lib';
import { normalization, parse, run } from './common';
import { notRankZero, openEvalData, runNormalization } from './eval-common';

const { CIFAR_EVAL_STD } = u.presets;

const program = new Command('linear_eval.ts')
  .description('linear evaluation of a trained backbone (best test top-1 over the epochs)')
  .requiredOption(
    '--checkpoint <path>',
    "a results folder, its checkpoint.safetensors (any method: moco, swav, byol, simclr), or the reference's model_last.pth",
  )
  .option('--data <path>', 'dataset (see unmix_c10.ts --help); default: the embedded synthetic set')
  .addOption(new Option('--device <device>', 'cpu, cuda or cuda:N').default(u.cuda.isAvailable() ? 'cuda' : 'cpu'))
  .option('--epochs <n>', 'epochs', parse.int, 100)
  .option('--lr <lr>', 'learning rate', parse.num, 0.3)
  .option('--momentum <m>', 'SGD momentum', parse.num, 0.9)
  .option('--wd <wd>', 'weight decay', parse.num, 1e-6)
  .addOption(
    new Option('--schedule <kind>', 'cosine (to 0) or step (×0.1 at the milestones)')
      .choices(['cosine', 'step'])
      .default('cosine'),
  )
  .option('--milestones <epochs>', 'step schedule milestones', parse.list, [60, 80])
  .option('--batch-size <n>', 'images per batch', parse.int, 32)
  .option(
    '--crop <n>',
    "crop size (default: the run's --crop, else 32); test images of another size are resized and centre-cropped",
    parse.int,
  )
  .option('--mean <r,g,b>', 'normalisation mean, or "data" (default: the run\'s, else CIFAR\'s)', (v) =>
    parseRgb('--mean', v),
  )
  .option(
    '--std <r,g,b>',
    'normalisation std, or "data" (default: the run\'s, else the SwAV CIFAR probe\'s 0.2470,0.2435,0.2616)',
    (v) => parseRgb('--std', v),
  )
  .option('--skip-corrupt', 'leave out images that cannot be decoded')
  .option('--no-augment', 'features computed once, no crops or flips')
  .option('--subset <n>', 'n training images per class', parse.int)
  .option('--test-subset <n>', 'n test images per class', parse.int)
  .option('--seed <n>', 'seed of the order, crops and subsets', parse.int, 0)
  .option('--json', 'print one JSON object');
program.parse();
const o = program.opts<{
  checkpoint: string;
  data?: string;
  device: u.Device;
  epochs: number;
  lr: number;
  momentum: number;
  wd: number;
  schedule: 'cosine' | 'step';
  milestones: number[];
  batchSize: number;
  crop?: number;
  augment: boolean;
  mean?: Rgb | 'data';
  std?: Rgb | 'data';
  skipCorrupt?: boolean;
  subset?: number;
  testSubset?: number;
  seed: number;
  json?: boolean;
}>();

run(async () => {
  if (notRankZero()) return;
  u.manualSeed(o.seed);
  const { method, args } = rebuildTrained(o.checkpoint, { device: o.device });
  const { common, data } = await openEvalData(o);
  const { crop, fallback, custom } = runNormalization(args, o.crop);
  // the SwAV CIFAR protocol's std (spec §3.5) unless the run normalised with its own constants
  const stats = await normalization(common, data, custom ? fallback : { mean: fallback.mean, std: CIFAR_EVAL_STD });
  const normalize = { op: 'normalize' as const, ...stats };
  const evalPipeline = evalPipelineFor(data.train, crop, stats);
  const trainPipeline: Pipeline = o.augment
    ? [{ op: 'randomResizedCrop', size: crop }, { op: 'horizontalFlip', p: 0.5 }, normalize]
    : evalPipeline;
  const train = new Loader(data.train, {
    batchSize: o.batchSize,
    views: [{ pipeline: trainPipeline, count: 1 }],
    dropLast: false,
    seed: o.seed,
    device: o.device,
  });
  const test = new Loader(data.test, { batchSize: 256, pipeline: evalPipeline, device: o.device });
  let embed = (x: u.Tensor) => method.embed(x, 'backbone');
  let trainBatches = (epoch: number) => train.labelled(epoch);
  let testBatches = () => test.labelled();
  if (!o.augment) {
    // Features once (the backbone is frozen and nothing is random): then each epoch is a pass over a matrix.
    method.eval();
    const cache = (batches: AsyncIterable<{ images: u.Tensor; labels: u.Tensor }>) =>
      u.cacheFeatures(batches, (x) => method.embed(x, 'backbone'));
    const [tr, te] = [
      await cache(new Loader(data.train, { batchSize: 256, pipeline: evalPipeline, device: o.device }).labelled()),
      await cache(test.labelled()),
    ];
    embed = (x) => x;
    trainBatches = (epoch) => u.featureBatches(tr, { batchSize: o.batchSize, seed: o.seed, shuffleStream: epoch });
    testBatches = () => u.featureBatches(te, { batchSize: o.batchSize, seed: o.seed, shuffleStream: null });
  }
  const result = await linearProbe({
    embed,
    backbone: method,
    train: trainBatches,
    test: testBatches,
    classes: data.classes,
    epochs: o.epochs,
    lr: o.lr,
    momentum: o.momentum,
    weightDecay: o.wd,
    schedule: o.schedule,
    milestones: o.milestones,
    onEpoch: (r) => {
      if (!o.json)
        console.log(
          `epoch ${r.epoch}/${o.epochs}: loss ${r.loss.toFixed(4)}, test top-1 ${r.acc1.toFixed(2)}% (best ${r.best.toFixed(2)}%)`,
        );
    },
  });
  if (o.json)
    console.log(
      JSON.stringify({ checkpoint: o.checkpoint, best: result.best, bestEpoch: result.bestEpoch, last: result.last }),
    );
  else
    console.log(
      `linear evaluation: best top-1 ${result.best.toFixed(2)}% (epoch ${result.bestEpoch}), last ${result.last.toFixed(2)}%`,
    );
});
