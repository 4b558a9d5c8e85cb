// One entry point for every dataset format: what `--data PATH` in the examples means.
//   undefined or 'synthetic'         the embedded synthetic set (no download, no files)
//   CIFAR-10/100 binary              folder (cifar-10-batches-bin, cifar-100-binary) or its .tar.gz
//   image folder                     folder, .tar or .tar.gz with [split/]class/image files; decoded once
//                                    into a uint8 tensor (cached) when all images share a size and fit
//                                    the memory budget, else kept encoded and decoded per batch. Decided
//                                    up front from the index and a few image headers (budget.ts), so an
//                                    ImageNet-sized folder opens in seconds, holding only its index.
import { Device } from '../tensor';
import { DatasetBudgetError, memoryBudget, sampleSizes } from './budget';
import { loadCifar } from './cifar';
import { EncodedImageSet, ImageSet } from './dataset';
import { ImageSizeError, SkippedImage } from './decode';
import { loadImageFolder, openImageFolder, scanImageFolder } from './image-folder';
import { readSourceTree } from './sources';
import { syntheticDataset } from './synthetic';
import { defaultCacheDir } from './cache';
import { withoutCorrupt } from './verify';

export interface OpenDatasetOptions {
  /** 'train' or 'test' ('test' also finds a 'val' split in image folders) */
  split: string;
  device?: Device;
  /** image folders: where decoded images are cached (default ~/.cache/unmix); false: no cache */
  cacheDir?: string | false;
  /**
   * image folders: skip images that fail to decode instead of stopping; they are listed in the result's
   * `skipped`. Sets kept encoded are checked image by image when opened (the verdict is cached).
   */
  skipCorrupt?: boolean;
  /** image folders: progress of the first decode */
  onProgress?: (done: number, total: number) => void;
  /**
   * image folders: bytes of decoded images a split may hold in memory; a split that needs more is kept
   * encoded and decoded per batch (default: $UNMIX_DATASET_BUDGET, else a quarter of the memory, at most 4 GiB)
   */
  memoryBudget?: number;
  /** the synthetic set: images per class and seed */
  synthetic?: { perClass?: number; seed?: number; size?: number };
}

export type OpenedDataset = ImageSet & { skipped?: SkippedImage[] };

const CIFAR_FILES = /(^|\/)(data_batch_\d\.bin|test_batch\.bin|train\.bin|test\.bin)$/;

export async function openDataset(source: string | undefined, options: OpenDatasetOptions): Promise<OpenedDataset> {
  const budget = memoryBudget(options.memoryBudget, 'openDataset');
  if (source === undefined || source === 'synthetic') {
    if (options.split !== 'train' && options.split !== 'test')
      throw new Error(`synthetic dataset: split must be train or test, got '${options.split}'`);
    return syntheticDataset({ split: options.split, device: options.device, ...options.synthetic });
  }
  const tree = readSourceTree(source, { memoryBudget: budget });
  if ([...tree.files].some((f) => CIFAR_FILES.test(f))) {
    if (options.split !== 'train' && options.split !== 'test')
      throw new Error(`${source}: CIFAR has the splits train and test, not '${options.split}'`);
    return loadCifar(source, { split: options.split, device: options.device });
  }
  const folder = scanImageFolder(tree);
  let split = options.split;
  if (folder.layout === 'splits' && !folder.splits.includes(split) && split === 'test') {
    split = ['val', 'validation'].find((s) => folder.splits.includes(s)) ?? split;
  }
  if (folder.layout === 'classes' && options.split !== 'train') {
    throw new Error(
      `${source}: an image folder without split folders is one split (train); there is no '${options.split}' split (use train/ and test/ or val/ folders)`,
    );
  }
  const splitName = folder.layout === 'splits' ? split : undefined;
  const encoded: EncodedImageSet = openImageFolder(folder, { split: splitName });
  // Kept encoded (decoded per batch): with skipCorrupt every image is checked once and the bad ones left out.
  const keepEncoded = async (): Promise<OpenedDataset> => {
    if (!options.skipCorrupt) return encoded;
    const files = folder.split(splitName).files;
    const cacheDir = options.cacheDir ?? defaultCacheDir();
    return withoutCorrupt(encoded, {
      cacheDir,
      identity: folder.tree.identity(files),
      source: folder.tree.path,
      onProgress: options.onProgress,
    });
  };
  // sizes that already differ among a few headers: no tensor set (loadImageFolder checks the budget)
  if ((await sampleSizes(encoded)).mixed) return keepEncoded();
  try {
    const { device, cacheDir, skipCorrupt, onProgress } = options;
    return await loadImageFolder(folder, {
      split: splitName,
      device,
      cacheDir,
      skipCorrupt,
      onProgress,
      memoryBudget: budget,
    });
  } catch (e) {
    if (!(e instanceof ImageSizeError) && !(e instanceof DatasetBudgetError)) throw e;
    return keepEncoded();
  }
}
