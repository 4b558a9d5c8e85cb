// The weighted kNN monitor (spec §2.5) on a trained run: bank = the training images under the test
// transform, k 200, t 0.1, on the projection (the reference) or the backbone features.
//   npx tsx examples/knn_eval.ts --checkpoint UnMix_symmetric_C10/checkpoint.safetensors --data cifar-10-binary.tar.gz
//   npx tsx examples/knn_eval.ts --checkpoint model_last.pth --data ...      (the reference demo's checkpoint)
import { Command, Option } from 'commander';
import * as u from '../lib';
import { evalPipelineFor, parseRgb, type Rgb, checkDataFlags, rebuildTrained, knnMonitor } from '../lib';
import { normalization, parse, run } from './common';
import { notRankZero, openEvalData, runNormalization } from './eval-common';

const program = new Command('knn_eval.ts')
  .description("kNN accuracy of a trained encoder (the MoCo CIFAR demo's monitor)")
  .requiredOption(
    '--checkpoint <path>',
    "a results folder, its checkpoint.safetensors (any method: moco, swav, byol, simclr), or the reference's model_last.pth",
  )
  .option('--data <path>', 'dataset (see unmix_c10.ts --help); default: the embedded synthetic set')
  .addOption(new Option('--device <device>', 'cpu, cuda or cuda:N').default(u.cuda.isAvailable() ? 'cuda' : 'cpu'))
  .option('--batch-size <n>', 'images per batch', parse.int, 512)
  .option('--knn-k <k>', 'neighbours', parse.int, 200)
  .option('--knn-t <t>', 'temperature', parse.num, 0.1)
  .addOption(
    new Option('--features <which>', 'projection (the reference) or backbone')
      .choices(['projection', 'backbone'])
      .default('projection'),
  )
  .option('--subset <n>', 'bank of n training images per class', parse.int)
  .option('--test-subset <n>', 'n test images per class', parse.int)
  .option('--seed <n>', 'seed of the subsets', parse.int, 0)
  .option(
    '--crop <n>',
    "image size the model sees (default: the run's --crop, else 32): other sizes are resized and centre-cropped",
    parse.int,
  )
  .option('--mean <r,g,b>', 'normalisation mean, or "data" (default: the run\'s, else CIFAR\'s)', (v) =>
    parseRgb('--mean', v),
  )
  .option('--std <r,g,b>', 'normalisation std, or "data" (default: the run\'s, else CIFAR\'s)', (v) =>
    parseRgb('--std', v),
  )
  .option('--skip-corrupt', 'leave out images that cannot be decoded')
  .option('--json', 'print one JSON object');
program.parse();
const o = program.opts<{
  checkpoint: string;
  data?: string;
  device: u.Device;
  batchSize: number;
  knnK: number;
  knnT: number;
  features: 'projection' | 'backbone';
  subset?: number;
  testSubset?: number;
  seed: number;
  json?: boolean;
  crop?: number;
  mean?: Rgb | 'data';
  std?: Rgb | 'data';
  skipCorrupt?: boolean;
}>();

run(async () => {
  if (notRankZero()) return;
  const { method, args } = rebuildTrained(o.checkpoint, { device: o.device });
  const { common, data } = await openEvalData(o);
  checkDataFlags(data, { knn: { k: o.knnK } });
  const { crop, fallback } = runNormalization(args, o.crop);
  const stats = await normalization(common, data, fallback);
  const acc1 = await knnMonitor(method, data, {
    batchSize: o.batchSize,
    pipeline: evalPipelineFor(data.train, crop, stats),
    k: o.knnK,
    t: o.knnT,
    features: o.features,
  })();
  if (o.json)
    console.log(
      JSON.stringify({ checkpoint: o.checkpoint, features: o.features, k: o.knnK, t: o.knnT, 'test_acc@1': acc1 }),
    );
  else console.log(`kNN (k ${o.knnK}, t ${o.knnT}, ${o.features} features): top-1 ${acc1.toFixed(2)}%`);
});
