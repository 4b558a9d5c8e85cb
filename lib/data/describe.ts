// What `unmix dataset PATH` reports: format, splits with image and class counts, class names, image
// size, and per-channel mean and std in [0, 1] (the normalisation constants). Mean and std are over
// every pixel of a split (population std, as torchvision's Normalize constants for CIFAR-10:
// 0.4914/0.2470 ...), from exact per-channel 256-bin histograms, so the result is float64-exact.
import { loadCifar } from './cifar';
import type { DatasetFormat, TensorImageSet } from './dataset';
import { DatasetBudgetError } from './budget';
import { decodeConcurrency, decodeRgb, ImageSizeError, pool, SkippedImage } from './decode';
import { loadImageFolder, openImageFolder, scanImageFolder } from './image-folder';
import { readSourceTree, SourceTree } from './sources';

export interface SplitDescription {
  images: number;
  classes: number;
  mean: [number, number, number];
  std: [number, number, number];
}

/** Exactly what `unmix dataset --json` prints. */
export interface DatasetDescription {
  format: DatasetFormat;
  splits: Record<string, SplitDescription>;
  classes: string[];
  /** [height, width] when every image has that size, else null */
  size: [number, number] | null;
}

/** What the text output adds. */
export interface DescribeDetails {
  source: string;
  container: SourceTree['container'];
  /** smallest and largest [height, width] (by area) */
  minSize: [number, number];
  maxSize: [number, number];
  /** files that are not images of a class folder */
  ignored: string[];
  /** per split: how the decoded-image cache was found (image folders of one image size) */
  cache: Record<string, string>;
  /** images that failed to decode, with skipCorrupt */
  skipped: SkippedImage[];
  warnings: string[];
}

export interface DescribeOptions {
  /** decoded-image cache folder (image folders); false to decode without caching */
  cacheDir?: string | false;
  /** skip images that fail to decode (listed in details.skipped) instead of failing */
  skipCorrupt?: boolean;
  onProgress?: (split: string, done: number, total: number) => void;
}

/** Per-channel histograms of uint8 pixels. */
export class ChannelStats {
  private readonly hist = [new Float64Array(256), new Float64Array(256), new Float64Array(256)];

  /** images stored [.., 3, H, W] with `plane` = H × W pixels per channel */
  addPlanar(data: Uint8Array, plane: number): void {
    for (let start = 0; start < data.length; start += 3 * plane) {
      for (let c = 0; c < 3; c++) {
        const h = this.hist[c];
        const end = start + (c + 1) * plane;
        for (let i = start + c * plane; i < end; i++) h[data[i]]++;
      }
    }
  }

  /** RGB triplets */
  addInterleaved(data: Uint8Array): void {
    const [r, g, b] = this.hist;
    for (let i = 0; i < data.length; i += 3) {
      r[data[i]]++;
      g[data[i + 1]]++;
      b[data[i + 2]]++;
    }
  }

  result(): { mean: [number, number, number]; std: [number, number, number] } {
    const mean: number[] = [];
    const std: number[] = [];
    for (const h of this.hist) {
      let n = 0;
      let sum = 0;
      for (let v = 0; v < 256; v++) {
        n += h[v];
        sum += h[v] * (v / 255);
      }
      const m = sum / n;
      let sq = 0;
      for (let v = 0; v < 256; v++) sq += h[v] * (v / 255 - m) ** 2;
      mean.push(m);
      std.push(Math.sqrt(sq / n));
    }
    return { mean: mean as [number, number, number], std: std as [number, number, number] };
  }
}

function tensorStats(set: TensorImageSet): ReturnType<ChannelStats['result']> {
  const stats = new ChannelStats();
  const [n, , h, w] = set.images.shape;
  for (let s = 0; s < n; s += 1024) {
    const chunk = set.images.narrow(0, s, Math.min(1024, n - s));
    stats.addPlanar(chunk.data() as Uint8Array, h * w);
    chunk.dispose();
  }
  return stats.result();
}

const isCifar = (tree: SourceTree) =>
  [...tree.files].some(
    (f) =>
      /(^|\/)(data_batch_\d\.bin|test_batch\.bin)$/.test(f) ||
      /(^|\/)cifar-100-binary\/(train|test)\.bin$/.test(f) ||
      /^(train|test)\.bin$/.test(f),
  );

const SPLIT_ORDER = ['train', 'val', 'validation', 'test'];
const splitOrder = (a: string, b: string) => {
  const [i, j] = [SPLIT_ORDER.indexOf(a), SPLIT_ORDER.indexOf(b)].map((k) => (k < 0 ? SPLIT_ORDER.length : k));
  return i - j || (a < b ? -1 : a > b ? 1 : 0);
};

/** Describes a CIFAR binary release (folder or .tar.gz) or an image folder (folder, .tar, .tar.gz). */
export async function describeDataset(
  source: string,
  options: DescribeOptions = {},
): Promise<{ description: DatasetDescription; details: DescribeDetails }> {
  const tree = readSourceTree(source);
  const splits: Record<string, SplitDescription> = {};
  const classLists: string[][] = [];
  const sizes: [number, number][] = [];
  const details: DescribeDetails = {
    source: tree.path,
    container: tree.container,
    minSize: [0, 0],
    maxSize: [0, 0],
    ignored: [],
    cache: {},
    skipped: [],
    warnings: [],
  };
  for (const entry of tree.unreadable ?? []) details.warnings.push(`left out ${entry}`);
  let format: DatasetFormat;
  const add = (name: string, images: number, classes: string[], stats: ReturnType<ChannelStats['result']>) => {
    splits[name] = { images, classes: classes.length, ...stats };
    classLists.push(classes);
  };

  if (isCifar(tree)) {
    format = 'cifar-10-binary';
    for (const split of ['train', 'test'] as const) {
      const set = loadCifar(source, { split });
      format = set.format;
      add(split, set.images.shape[0], set.classes, tensorStats(set));
      sizes.push([32, 32]);
      for (const t of [set.images, set.labels, set.coarseLabels]) t?.dispose();
    }
  } else {
    format = 'image-folder';
    const folder = scanImageFolder(tree);
    details.ignored = folder.ignored;
    for (const name of [...folder.splits].sort(splitOrder)) {
      const onProgress =
        options.onProgress && ((done: number, total: number) => options.onProgress!(name, done, total));
      try {
        const set = await loadImageFolder(folder, {
          split: name,
          cacheDir: options.cacheDir,
          skipCorrupt: options.skipCorrupt,
          onProgress,
        });
        details.skipped.push(...set.skipped);
        details.cache[name] = set.cache.status;
        add(name, set.images.shape[0], set.classes, tensorStats(set));
        sizes.push([set.images.shape[2], set.images.shape[3]]);
        set.images.dispose();
        set.labels.dispose();
      } catch (e) {
        if (!(e instanceof ImageSizeError) && !(e instanceof DatasetBudgetError)) throw e;
        // Images of several sizes, or more than the memory budget: one streaming pass, nothing cached.
        const set = openImageFolder(folder, { split: name });
        const stats = new ChannelStats();
        let done = 0;
        let decoded = 0;
        await pool(set.length, decodeConcurrency(), async (i) => {
          let image;
          try {
            image = await decodeRgb(await set.read(i), set.source(i));
          } catch (e) {
            if (!options.skipCorrupt)
              throw new Error(
                `${(e as Error).message} (pass skipCorrupt, or --skip-corrupt, to skip and list such images)`,
              );
            details.skipped.push({ source: set.source(i), error: (e as Error).message });
            return;
          }
          decoded++;
          stats.addInterleaved(image.data);
          sizes.push([image.height, image.width]);
          if (++done % 256 === 0) onProgress?.(done, set.length);
        });
        onProgress?.(set.length, set.length);
        details.cache[name] =
          e instanceof DatasetBudgetError ? 'off (over the memory budget)' : 'off (images of several sizes)';
        add(name, decoded, set.classes, stats.result());
      }
    }
  }

  const same = (a: string[], b: string[]) => a.length === b.length && a.every((c, i) => c === b[i]);
  let classes = classLists[0];
  if (!classLists.every((l) => same(l, classes))) {
    classes = [...new Set(classLists.flat())].sort();
    details.warnings.push(
      `the splits have different class folders (${Object.entries(splits)
        .map(([k, s]) => `${k}: ${s.classes}`)
        .join(', ')}); labels are numbered per split`,
    );
  }
  const area = (s: [number, number]) => s[0] * s[1];
  details.minSize = sizes.reduce((a, b) => (area(b) < area(a) ? b : a));
  details.maxSize = sizes.reduce((a, b) => (area(b) > area(a) ? b : a));
  const size = sizes.every((s) => s[0] === sizes[0][0] && s[1] === sizes[0][1]) ? sizes[0] : null;
  return { description: { format, splits, classes, size }, details };
}
