// What every example shares: the flags that are not the method's (data, device, seed, results, resume,
// smoke preset), opening the data and printing errors.
import { Command, Option } from 'commander';
import * as u from '../lib';
import { Pipeline, ViewSpec, openRunData, parseRgb, resolveNormalization, RunData, type Rgb } from '../lib';

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
  skipCorrupt?: boolean;
  mean?: Rgb | 'data';
  std?: Rgb | 'data';
}

/** This process's place in the job: rank 0 of 1 unless started by `unmix launch` or torchrun. */
export interface Ranks {
  rank: number;
  worldSize: number;
}

/**
 * Joins the default process group when the launcher's variables say WORLD_SIZE > 1 (`unmix launch
 * --nproc-per-node N`, torchrun); one process: nothing. The Trainer then trains data-parallel.
 */
export async function initFromLaunch(): Promise<Ranks> {
  const env = u.distributed.launchEnv();
  if (!env || env.worldSize === 1) return { rank: 0, worldSize: 1 };
  const g = await u.distributed.initProcessGroup();
  return { rank: g.rank, worldSize: g.worldSize };
}

/** A results line: printed by rank 0 alone (the Trainer's own lines are too). */
export function say(line: string): void {
  if (u.distributed.getRank() === 0) console.log(line);
}

/** A global batch flag's share per rank (MoCo's --batch-size, as main_moco.py divides it by the GPUs). */
export function perRankBatch(flag: string, batch: number, worldSize: number): number {
  if (batch % worldSize !== 0)
    throw new Error(`${flag} ${batch} is the batch over all ${worldSize} ranks and must be a multiple of ${worldSize}`);
  return batch / worldSize;
}

/** MoCo's rank batch (--batch-size over the ranks), which SplitBatchNorm splits in turn. */
export function mocoRankBatch(o: { batchSize: number; bnSplits: number }, worldSize: number): number {
  const batch = perRankBatch('--batch-size', o.batchSize, worldSize);
  if (batch % o.bnSplits !== 0)
    throw new Error(
      `--batch-size ${o.batchSize} over ${worldSize} ranks is ${batch} per rank, which must be a multiple of --bn-splits ${o.bnSplits}`,
    );
  return batch;
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
const foreach = (v: string): boolean | undefined =>
  ({ on: true, off: false, auto: undefined })[v as 'on' | 'off' | 'auto'];

export const parse = { int, num, list: (v: string) => v.split(',').filter(Boolean).map(int), foreach };

/** The speed options of the MoCo examples (results unchanged, or bf16 under --amp). */
export const speedOptions = {
  channelsLast: () => new Option('--channels-last', 'speed option: channels_last convolutions (same results)'),
  amp: () =>
    new Option(
      '--amp <dtype>',
      'speed option for CUDA: encoder forwards under autocast in this dtype (the loss stays float32)',
    ).choices(['bfloat16']),
  foreach: () =>
    new Option(
      '--foreach <mode>',
      'speed option: momentum and SGD updates as multi-tensor kernels (on), per-parameter loops as the reference (off), or on for CUDA only (auto); same results',
    )
      .choices(['auto', 'on', 'off'])
      .default('auto')
      .argParser(foreach),
};

/** Adds the shared flags; `resultsDir` is the reference's default results folder. */
export function addCommonOptions(program: Command, resultsDir: string): Command {
  return program
    .option(
      '--data <path>',
      'dataset: CIFAR binary folder/.tar.gz, image folder/.tar/.tar.gz (train/ and test/ or val/), or "synthetic" (default: the embedded synthetic set)',
    )
    .addOption(new Option('--device <device>', 'cpu, cuda or cuda:N').default(u.cuda.isAvailable() ? 'cuda' : 'cpu'))
    .option('--seed <n>', 'seed of every random choice (weights, order, augmentation, Un-Mix)', int, 0)
    .option(
      '--workers <n>',
      'image decoding threads for encoded folders (sharp); batches are augmented on the device',
      int,
    )
    .option('--results-dir <dir>', 'where log.csv, log.jsonl, args.json and checkpoint.safetensors go', resultsDir)
    .option(
      '--resume [checkpoint]',
      "continue from the results folder's checkpoint (or the given file); training flags must be the same (epochs, --knn-*, --test-subset, --eval-init, --workers, --no-progress may change)",
    )
    .option(
      '--overwrite',
      'replace a run already in the results folder (without it, or --resume, such a folder is refused)',
    )
    .addOption(
      new Option('--preset <name>', 'smoke: a narrow network on a small subset (minutes on 2 CPU cores)').choices([
        'smoke',
      ]),
    )
    .option('--subset <n>', 'train on n images per class (deterministic from the seed)', int)
    .option('--test-subset <n>', 'evaluate on n test images per class', int)
    .option(
      '--test-subset-seed <n>',
      'seed of the --test-subset choice (default: --seed), e.g. one fixed test subset across seeds',
      int,
    )
    .option('--iters-per-epoch <n>', 'stop each epoch after n iterations', int)
    .option(
      '--eval-init',
      'also run the monitor before training (the random-initialisation baseline, log.jsonl epoch 0)',
    )
    .option('--no-progress', 'no progress bar')
    .option(
      '--tensorboard [dir]',
      "write TensorBoard event files (scalars, the first batch's views and mixtures) to dir (default: RESULTS_DIR/tensorboard)",
    )
    .option('--no-curves', 'do not redraw RESULTS_DIR/curves.png after each epoch')
    .option('--skip-corrupt', 'leave out (and list) images that cannot be decoded instead of stopping')
    .option(
      '--mean <r,g,b>',
      'normalisation mean, or "data" to measure it on the training images (default: the recipe\'s, CIFAR or ImageNet)',
      (v) => parseRgb('--mean', v),
    )
    .option('--std <r,g,b>', 'normalisation std, or "data" (default: the recipe\'s)', (v) => parseRgb('--std', v));
}

/** Applies `smoke` values to every option the user did not give on the command line. */
export function applyPreset<T extends object>(program: Command, options: T, smoke: Partial<T>): T {
  const out = { ...options };
  for (const [key, value] of Object.entries(smoke)) {
    if (program.getOptionValueSource(key) !== 'cli') (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

export type OpenedData = RunData;

/** Opens the train and test splits (lib/data/run-data.ts), printing what was opened and skipped. */
export function openData(o: CommonOptions): Promise<RunData> {
  if (o.workers) process.env.UV_THREADPOOL_SIZE = String(o.workers);
  return openRunData({
    ...o,
    log: o.progress ? say : undefined,
    warn: (line) => console.error(`warning: ${line}`),
  });
}

/** The flags of the learning-parity exchanges (bench/parity.ts): recorded batches and draws, float64. */
export interface BatchExchangeOptions {
  replayBatches?: string;
  recordBatches?: string;
  replayDraws?: string;
  dtype: 'float32' | 'float64';
}

export function addBatchExchangeOptions(program: Command, twin: string): Command {
  return program
    .option(
      '--replay-batches <folder>',
      `train on the augmented batches recorded in this folder (${twin} --save-batches) instead of augmenting: the reference's inputs, for exchanges between the two`,
    )
    .option(
      '--record-batches <folder>',
      `also write every augmented training batch to this folder, for the twin's --replay-batches (${twin})`,
    )
    .option(
      '--replay-draws <file>',
      `take every step's random choices (the Un-Mix mixture; MoCo's shuffle-BN permutations) from this file (${twin} --save-draws) instead of drawing them, for exchanges between the two`,
    )
    .addOption(
      new Option(
        '--dtype <dtype>',
        "the model's and its inputs' dtype; float64 takes float32's rounding out of exchanges with the twin (its --double)",
      )
        .choices(['float32', 'float64'])
        .default('float32'),
    );
}

/** Puts the model in --dtype (float64 for exchanges; not with --amp). */
export function applyDtype(method: u.SslMethod, o: BatchExchangeOptions & { amp?: string }): void {
  if (o.dtype !== 'float64') return;
  if (o.amp) throw new Error('--dtype float64 and --amp: one or the other');
  method.to('float64');
}

/** --replay-draws needs one process: a recording is one process's draws. */
export function checkReplayDraws(o: BatchExchangeOptions, worldSize: number): string | undefined {
  if (o.replayDraws && worldSize > 1)
    throw new Error('--replay-draws: a recording is one process’s; run it without ranks');
  return o.replayDraws;
}

/** The training Loader: augmenting (the default), replaying a recording, or recording what it serves. */
export function trainLoader(set: u.ImageSet, options: u.LoaderOptions, o: BatchExchangeOptions): u.Loader {
  if (o.replayBatches && o.recordBatches) throw new Error('--replay-batches and --record-batches: one or the other');
  if (o.replayBatches) return new u.ReplayLoader(set, options, o.replayBatches);
  if (o.recordBatches) return new u.RecordingLoader(set, options, o.recordBatches);
  return new u.Loader(set, options);
}

/** The normalisation of --mean/--std ('data': measured on the training split), else `fallback`. */
export function normalization(o: CommonOptions, data: RunData, fallback: { mean: Rgb; std: Rgb }) {
  return resolveNormalization(o, data.train, fallback);
}

/** Views or a pipeline with every normalize step set to `stats`. */
export function renormalize<T extends ViewSpec[] | Pipeline>(x: T, stats: { mean: Rgb; std: Rgb }): T {
  const fix = (p: Pipeline): Pipeline =>
    p.map((s) => (s.op === 'normalize' ? { ...s, mean: stats.mean, std: stats.std } : s));
  return (
    x.length && 'pipeline' in (x[0] as object)
      ? (x as ViewSpec[]).map((v) => ({ ...v, pipeline: fix(v.pipeline) }))
      : fix(x as Pipeline)
  ) as T;
}

/** Runs an example's main, printing a one-line error (no stack) for user errors. */
export function run(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    if (process.env.UNMIX_DEBUG) console.error(e);
    process.exit(1);
  });
}
