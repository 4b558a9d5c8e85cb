// The train and test splits of a training run, as the examples' --data, --subset, --test-subset and
// --skip-corrupt mean them, and the normalisation constants of --mean/--std ('data': measured on the
// training split), with the evaluation pipeline that fits the images (resize + centre crop when their
// size differs from the crop).
import type { Device } from '../tensor';
import type { ImageSet } from './dataset';
import { imageCount } from './dataset';
import type { SkippedImage } from './decode';
import { openDataset } from './open';
import type { Pipeline } from './pipeline';
import { channelStats, Rgb } from './stats';
import { subsetImageSet } from './subset';

export interface RunDataOptions {
  data?: string;
  device: Device;
  seed: number;
  subset?: number;
  testSubset?: number;
  /** Seed of the test subset's choice (default: seed), e.g. one fixed test subset across seeds. */
  testSubsetSeed?: number;
  skipCorrupt?: boolean;
  /** prints what was opened */
  log?: (line: string) => void;
  /** prints what was skipped (default: log, else console.error): always said, whatever log does */
  warn?: (line: string) => void;
}

export interface RunData {
  train: ImageSet;
  test: ImageSet;
  classes: number;
  skipped: SkippedImage[];
}

/** Opens the train and test splits, with per-class subsets when asked (the synthetic set is generated at that size). */
export async function openRunData(o: RunDataOptions): Promise<RunData> {
  const synthetic = o.data === undefined || o.data === 'synthetic';
  const progress = (what: string) => (done: number, total: number) => {
    if (done === total) o.log?.(`${what}: ${total} images decoded`);
  };
  const open = (split: 'train' | 'test', perClass?: number) =>
    openDataset(o.data, {
      split,
      device: o.device,
      skipCorrupt: o.skipCorrupt,
      onProgress: progress(split),
      synthetic: { perClass, seed: 0 },
    });
  const trainSet = await open('train', o.subset);
  const testSet = await open('test', o.testSubset);
  const skipped = [...(trainSet.skipped ?? []), ...(testSet.skipped ?? [])];
  let train: ImageSet = trainSet;
  let test: ImageSet = testSet;
  if (o.subset && !synthetic) train = subsetImageSet(train, { perClass: o.subset, seed: o.seed });
  if (o.testSubset && !synthetic)
    test = subsetImageSet(test, { perClass: o.testSubset, seed: o.testSubsetSeed ?? o.seed });
  const warn = o.warn ?? o.log ?? ((line: string) => console.error(line));
  if (skipped.length)
    warn(
      `skipped ${skipped.length} images that could not be decoded: ${skipped
        .slice(0, 3)
        .map((s) => s.error)
        .join('; ')}${skipped.length > 3 ? '; ...' : ''}`,
    );
  o.log?.(
    `data: ${o.data ?? 'synthetic'} (${train.format}), ${imageCount(train)} train / ${imageCount(test)} test images, ${train.classes.length} classes`,
  );
  return { train, test, classes: train.classes.length, skipped };
}

/** --mean / --std: three numbers, 'data' (measured on `train`), or undefined for `fallback`. */
export async function resolveNormalization(
  spec: { mean?: Rgb | 'data'; std?: Rgb | 'data' },
  train: ImageSet,
  fallback: { mean: Rgb; std: Rgb },
): Promise<{ mean: Rgb; std: Rgb }> {
  const measured = spec.mean === 'data' || spec.std === 'data' ? await channelStats(train) : undefined;
  const pick = (v: Rgb | 'data' | undefined, key: 'mean' | 'std') =>
    v === 'data' ? measured![key] : (v ?? fallback[key]);
  return { mean: pick(spec.mean, 'mean'), std: pick(spec.std, 'std') };
}

/** Parses '--mean 0.5,0.5,0.5' or 'data'; std values must be > 0. */
export function parseRgb(flag: string, value: string): Rgb | 'data' {
  if (value === 'data') return 'data';
  const v = value.split(',').map(Number);
  const ok = v.length === 3 && v.every((x) => Number.isFinite(x)) && (flag !== '--std' || v.every((x) => x > 0));
  if (!ok)
    throw new Error(
      `${flag} must be three numbers r,g,b${flag === '--std' ? ' (each > 0)' : ''} or 'data', got '${value}'`,
    );
  return v as Rgb;
}

/** Evaluation (kNN bank, test set): the images as they are when they already have the crop's size, else resize + centre crop. */
export function evalPipelineFor(set: ImageSet, crop: number, stats: { mean: Rgb; std: Rgb }): Pipeline {
  const normalize = { op: 'normalize' as const, mean: stats.mean, std: stats.std };
  const fits = set.kind === 'tensor' && set.images.shape[2] === crop && set.images.shape[3] === crop;
  return fits ? [normalize] : [{ op: 'resize', size: crop }, { op: 'centerCrop', size: crop }, normalize];
}
