// What every example shares: the flags that are not the method's (data, device, seed, results, resume,
// smoke preset), opening the data, and the per-epoch kNN monitor of the MoCo CIFAR demo.
import { Command, Option } from 'commander';
import * as u from '../lib';
import { ImageSet, imageCount } from '../lib/data/dataset';
import { Loader } from '../lib/data/loader';
import { openDataset } from '../lib/data/open';
import { Pipeline } from '../lib/data/pipeline';
import { subsetImageSet } from '../lib/data/subset';
import { buildFeatureBank, knnAccuracy } from '../lib/eval/knn';
import { SslMethod } from '../lib/ssl/method';

export interface CommonOptions {
  data?: string;
  device: u.Device;
  seed: number;
  workers?: number;
  resultsDir: string;
  resume?: string | boolean;
  overwrite?: boolean;
  preset?: 'smoke';
  subset?: number;
  testSubset?: number;
  testSubsetSeed?: number;
  itersPerEpoch?: number;
  progress: boolean;
  evalInit?: boolean;
  tensorboard?: boolean | string;
  curves?: boolean;
}

/** The Trainer options every example takes from the shared flags (see addCommonOptions). */
export function commonTrainerOptions(o: CommonOptions) {
  return {
    resultsDir: o.resultsDir,
    seed: o.seed,
    resume: o.resume,
    overwrite: o.overwrite,
    itersPerEpoch: o.itersPerEpoch,
    progress: o.progress ? ('auto' as const) : (false as const),
    evaluateFirst: o.evalInit,
    tensorboard: o.tensorboard,
    curves: o.curves,
  };
}

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`expected an integer, got '${v}'`);
  return n;
};
const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`expected a number, got '${v}'`);
  return n;
};
/** --foreach on|off|auto: multi-tensor updates, per-parameter loops, or the device's default (undefined). */
const foreach = (v: string): boolean | undefined => ({ on: true, off: false, auto: undefined })[v as 'on' | 'off' | 'auto'];

export const parse = { int, num, list: (v: string) => v.split(',').filter(Boolean).map(int), foreach };

/** Adds the shared flags; `resultsDir` is the reference's default results folder. */
export function addCommonOptions(program: Command, resultsDir: string): Command {
  return program
    .option('--data <path>', 'dataset: CIFAR binary folder/.tar.gz, image folder/.tar/.tar.gz (train/ and test/ or val/), or "synthetic" (default: the embedded synthetic set)')
    .addOption(new Option('--device <device>', 'cpu, cuda or cuda:N').default(u.cuda.isAvailable() ? 'cuda' : 'cpu'))
    .option('--seed <n>', 'seed of every random choice (weights, order, augmentation, Un-Mix)', int, 0)
    .option('--workers <n>', 'image decoding threads for encoded folders (sharp); batches are augmented on the device', int)
    .option('--results-dir <dir>', 'where log.csv, log.jsonl, args.json and checkpoint.safetensors go', resultsDir)
    .option('--resume [checkpoint]', 'continue from the results folder\'s checkpoint (or the given file); training flags must be the same (epochs, --knn-*, --test-subset, --eval-init, --workers, --no-progress may change)')
    .option('--overwrite', 'replace a run already in the results folder (without it, or --resume, such a folder is refused)')
    .addOption(new Option('--preset <name>', 'smoke: a narrow network on a small subset, a few minutes on 2 CPU cores').choices(['smoke']))
    .option('--subset <n>', 'train on n images per class (deterministic from the seed)', int)
    .option('--test-subset <n>', 'evaluate on n test images per class', int)
    .option('--test-subset-seed <n>', 'seed of the --test-subset choice (default: --seed), e.g. one fixed test subset across seeds', int)
    .option('--iters-per-epoch <n>', 'stop each epoch after n iterations', int)
    .option('--eval-init', 'also run the monitor before training (the random-initialisation baseline, log.jsonl epoch 0)')
    .option('--no-progress', 'no progress bar')
    .option('--tensorboard [dir]', 'write TensorBoard event files (scalars, the first batch\'s views and mixtures) to dir (default: RESULTS_DIR/tensorboard)')
    .option('--no-curves', 'do not redraw RESULTS_DIR/curves.png after each epoch');
}

/** Applies `smoke` values to every option the user did not give on the command line. */
export function applyPreset<T extends object>(program: Command, options: T, smoke: Partial<T>): T {
  const out = { ...options };
  for (const [key, value] of Object.entries(smoke)) {
    if (program.getOptionValueSource(key) !== 'cli') (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

export interface OpenedData {
  train: ImageSet;
  test: ImageSet;
  classes: number;
}

/** Opens the train and test splits, with per-class subsets when asked (the synthetic set is generated at that size). */
export async function openData(o: CommonOptions): Promise<OpenedData> {
  if (o.workers) process.env.UV_THREADPOOL_SIZE = String(o.workers);
  const device = o.device;
  const synthetic = o.data === undefined || o.data === 'synthetic';
  const progress = (what: string) => (done: number, total: number) => {
    if (o.progress && done === total) console.log(`${what}: ${total} images decoded`);
  };
  let train = await openDataset(o.data, { split: 'train', device, onProgress: progress('train'), synthetic: { perClass: o.subset, seed: 0 } });
  let test = await openDataset(o.data, { split: 'test', device, onProgress: progress('test'), synthetic: { perClass: o.testSubset, seed: 0 } });
  if (o.subset && !synthetic) train = subsetImageSet(train, { perClass: o.subset, seed: o.seed });
  if (o.testSubset && !synthetic) test = subsetImageSet(test, { perClass: o.testSubset, seed: o.testSubsetSeed ?? o.seed });
  if (o.progress) console.log(`data: ${o.data ?? 'synthetic'} (${train.format}), ${imageCount(train)} train / ${imageCount(test)} test images, ${train.classes.length} classes`);
  return { train, test, classes: train.classes.length };
}

/**
 * The MoCo demo's monitor (spec §2.5): query encoder in eval mode, a bank of the training images under
 * the test transform, weighted kNN (k, t) on the test images; returns top-1 in percent.
 */
export function knnMonitor(method: SslMethod, data: OpenedData, o: { batchSize: number; pipeline: Pipeline; k: number; t: number; features: 'projection' | 'backbone' }) {
  const memory = new Loader(data.train, { batchSize: o.batchSize, pipeline: o.pipeline });
  const test = new Loader(data.test, { batchSize: o.batchSize, pipeline: o.pipeline });
  return async (): Promise<number> => {
    method.eval();
    try {
      const embed = (x: u.Tensor) => method.embed(x, o.features);
      const bank = await buildFeatureBank(memory.labelled(), embed);
      try {
        const { acc1 } = await knnAccuracy(test.labelled(), embed, bank, { classes: data.classes, k: o.k, t: o.t });
        return acc1;
      } finally {
        bank.features.dispose();
        bank.labels.dispose();
      }
    } finally {
      method.train();
    }
  };
}

/** Runs an example's main, printing a one-line error (no stack) for user errors. */
export function run(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    if (process.env.UNMIX_DEBUG) console.error(e);
    process.exit(1);
  });
}
