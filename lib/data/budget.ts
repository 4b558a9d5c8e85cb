// The memory budget of a dataset: how many bytes of decoded images it may hold in memory, whatever
// its files claim. A split whose decoded images would take more stays encoded and is decoded per
// batch (EncodedImageSet). The decision is made up front, from the index and the headers of a few
// images (sharp reads their size without decoding), so an ImageNet-sized folder opens in seconds.
//   memoryBudget option (bytes) > $UNMIX_DATASET_BUDGET (bytes, or with a K/M/G suffix) > default:
//   a quarter of the machine's memory, at most 4 GiB.
import * as os from 'os';
import sharp from 'sharp';
import type { EncodedImageSet } from './dataset';

const GiB = 1024 ** 3;
const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: GiB, t: 1024 ** 4 };

/** A quarter of the machine's memory, at most 4 GiB. */
export function defaultMemoryBudget(): number {
  return Math.min(4 * GiB, Math.floor(os.totalmem() / 4));
}

/** The budget in bytes: `option` if given, else $UNMIX_DATASET_BUDGET, else the default; `owner` names the caller in errors. */
export function memoryBudget(option: number | undefined, owner: string): number {
  if (option !== undefined) {
    if (typeof option !== 'number' || !(option >= 0))
      throw new RangeError(`${owner}: memoryBudget must be a number of bytes >= 0, got ${String(option)}`);
    return option;
  }
  const env = process.env.UNMIX_DATASET_BUDGET;
  if (env === undefined || env === '') return defaultMemoryBudget();
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(env);
  if (!m) throw new RangeError(`UNMIX_DATASET_BUDGET must be a number of bytes (e.g. 4294967296 or 4G), got '${env}'`);
  return Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()]);
}

export function formatBytes(n: number): string {
  if (n === Infinity) return 'unlimited';
  const [unit, size] =
    n >= GiB ? ['GiB', GiB] : n >= 1024 ** 2 ? ['MiB', 1024 ** 2] : n >= 1024 ? ['KiB', 1024] : ['bytes', 1];
  return size === 1 ? `${n} bytes` : `${(n / size).toFixed(1)} ${unit}`;
}

/** Thrown when a split's decoded images would take more memory than its budget. */
export class DatasetBudgetError extends Error {
  override name = 'DatasetBudgetError';
}

/** Refuses `count` decoded RGB images of width×height over `budget`, naming `what` (a split or folder). */
export function checkBudget(what: string, count: number, width: number, height: number, budget: number): void {
  const bytes = count * 3 * width * height;
  if (bytes <= budget) return;
  throw new DatasetBudgetError(
    `ImageFolder: ${what}: ${count} images of ${width}×${height} take ${formatBytes(bytes)} decoded, more than the memory budget of ${formatBytes(budget)} ` +
      '(memoryBudget, or UNMIX_DATASET_BUDGET, in bytes); use openDataset or openImageFolder (decoded per batch)',
  );
}

export interface SizeSample {
  /** the largest sampled image (by area), or undefined when no sampled header could be read */
  largest?: { width: number; height: number; source: string };
  /** whether the sampled images have different sizes */
  mixed: boolean;
}

/**
 * The sizes of up to `count` images spread evenly over the set, read from their headers (nothing is
 * decoded). Images whose header cannot be read are left out: decoding reports them.
 */
export async function sampleSizes(set: EncodedImageSet, count = 16): Promise<SizeSample> {
  const n = Math.min(count, set.length);
  const indices = [
    ...new Set(Array.from({ length: n }, (_, k) => Math.floor((k * (set.length - 1)) / Math.max(1, n - 1)))),
  ];
  const sizes = await Promise.all(
    indices.map(async (i) => {
      try {
        const { format, width, height } = await sharp(await set.read(i)).metadata();
        // only what decodeRgb decodes counts (an SVG named .png is refused there, not rendered)
        return (format === 'jpeg' || format === 'png') && width && height
          ? { width, height, source: set.source(i) }
          : undefined;
      } catch {
        return undefined;
      }
    }),
  );
  const found = sizes.filter((s) => s !== undefined);
  const largest = found.reduce<SizeSample['largest']>(
    (a, s) => (!a || s.width * s.height > a.width * a.height ? s : a),
    undefined,
  );
  return { largest, mixed: found.some((s) => s.width !== found[0].width || s.height !== found[0].height) };
}
