// One entry point for every dataset format: what `--data PATH` in the examples means.
//   undefined or 'synthetic'         the embedded synthetic set (no download, no files)
//   CIFAR-10/100 binary              folder (cifar-10-batches-bin, cifar-100-binary) or its .tar.gz
//   image folder                     folder, .tar or .tar.gz with [split/]class/image files; decoded once
//                                    into a uint8 tensor (cached) when all images share a size, else
//                                    kept encoded and decoded per batch
import { Device } from '../tensor';
import { loadCifar } from './cifar';
import { EncodedImageSet, ImageSet } from './dataset';
import { ImageSizeError, loadImageFolder, openImageFolder, readSourceTree, scanImageFolder, SkippedImage } from './image-folder';
import { syntheticDataset } from './synthetic';

export interface OpenDatasetOptions {
  /** 'train' or 'test' ('test' also finds a 'val' split in image folders) */
  split: string;
  device?: Device;
  /** image folders: where decoded images are cached (default ~/.cache/unmix); false: no cache */
  cacheDir?: string | false;
  /** image folders: skip images that fail to decode (they are listed) instead of stopping */
  skipCorrupt?: boolean;
  /** image folders: progress of the first decode */
  onProgress?: (done: number, total: number) => void;
  /** the synthetic set: images per class and seed */
  synthetic?: { perClass?: number; seed?: number; size?: number };
}

export type OpenedDataset = ImageSet & { skipped?: SkippedImage[] };

const CIFAR_FILES = /(^|\/)(data_batch_\d\.bin|test_batch\.bin|train\.bin|test\.bin)$/;

export async function openDataset(source: string | undefined, options: OpenDatasetOptions): Promise<OpenedDataset> {
  if (source === undefined || source === 'synthetic') {
    if (options.split !== 'train' && options.split !== 'test') throw new Error(`synthetic dataset: split must be train or test, got '${options.split}'`);
    return syntheticDataset({ split: options.split, device: options.device, ...options.synthetic });
  }
  const tree = readSourceTree(source);
  if ([...tree.files].some((f) => CIFAR_FILES.test(f))) {
    if (options.split !== 'train' && options.split !== 'test') throw new Error(`${source}: CIFAR has the splits train and test, not '${options.split}'`);
    return loadCifar(source, { split: options.split, device: options.device });
  }
  const folder = scanImageFolder(tree);
  let split = options.split;
  if (folder.layout === 'splits' && !folder.splits.includes(split) && split === 'test') {
    split = ['val', 'validation'].find((s) => folder.splits.includes(s)) ?? split;
  }
  if (folder.layout === 'classes' && options.split !== 'train') {
    throw new Error(`${source}: an image folder without split folders is one split (train); there is no '${options.split}' split (use train/ and test/ or val/ folders)`);
  }
  const splitName = folder.layout === 'splits' ? split : undefined;
  try {
    return await loadImageFolder(folder, { split: splitName, device: options.device, cacheDir: options.cacheDir, skipCorrupt: options.skipCorrupt, onProgress: options.onProgress });
  } catch (e) {
    if (!(e instanceof ImageSizeError)) throw e;
    const encoded: EncodedImageSet = openImageFolder(folder, { split: splitName });
    return encoded;
  }
}
