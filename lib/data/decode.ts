// Decoding: sharp (libvips) on libuv worker threads, like PIL's convert('RGB'): alpha dropped (not
// composited), grayscale and palettes expanded, 16-bit samples reduced to their high byte, no EXIF
// rotation. Deviations: 16-bit grayscale PNGs are scaled to 8 bits (PIL clips them), CMYK JPEGs go
// through libvips' colour management (PIL inverts naively).
// Corrupt images: decodeImageSet throws at the first image that fails to decode, naming it; with
// `skipCorrupt: true` it skips such images and lists them in `skipped`. Silent data loss is the
// worse default. A tensor set over the memory budget (budget.ts) is refused before it is allocated.
import sharp from 'sharp';
import { tensor } from '../creation';
import { scope } from '../memory';
import type { Device } from '../tensor';
import type { EncodedImageSet, TensorImageSet } from './dataset';
import { checkBudget, memoryBudget } from './budget';

export interface DecodedImage {
  /** height × width × 3 uint8, RGB */
  data: Buffer;
  width: number;
  height: number;
}

/**
 * PIL's decompression-bomb threshold (Image.MAX_IMAGE_PIXELS): a larger image is refused before
 * decoding, so a tiny PNG claiming 16000×16000 cannot take gigabytes.
 */
export const MAX_IMAGE_PIXELS = 89_478_485;

/** Which format the bytes are, by magic number: only the formats an image folder claims are decoded. */
function sniff(bytes: Buffer): 'jpeg' | 'png' | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'png';
  return undefined;
}

/** Decodes a JPEG or PNG to 8-bit RGB; errors name `source`. */
export async function decodeRgb(bytes: Buffer, source: string): Promise<DecodedImage> {
  if (!bytes.byteLength) throw new Error(`${source}: cannot decode image: the file is empty`);
  // sharp's own words for bytes it cannot read: an SVG (or WebP, TIFF...) named .png is not decoded
  if (!sniff(bytes)) throw new Error(`${source}: cannot decode image: Input buffer contains unsupported image format`);
  let out: { data: Buffer; info: { width: number; height: number; channels: number; depth?: string } };
  try {
    // 'truncated' as PIL: a cut-off image is an error, libjpeg's recoverable warnings are not.
    out = await sharp(bytes, { failOn: 'truncated', limitInputPixels: MAX_IMAGE_PIXELS })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    const message = String((e as Error).message).split('\n')[0];
    if (/pixel limit/i.test(message)) {
      const { width = 0, height = 0 } = await sharp(bytes)
        .metadata()
        .catch(() => ({ width: 0, height: 0 }));
      throw new Error(
        `${source}: cannot decode image: ${width}×${height} is more than ${MAX_IMAGE_PIXELS} pixels (PIL's decompression-bomb limit)`,
      );
    }
    throw new Error(`${source}: cannot decode image: ${message}`);
  }
  const { width, height, channels } = out.info;
  if (channels !== 3 || out.data.byteLength !== width * height * 3) {
    throw new Error(`${source}: decoded to ${channels} channels of ${out.info.depth}, expected 8-bit RGB`);
  }
  return { data: out.data, width, height };
}

/** Runs fn(0..n-1) with at most `limit` calls in flight; stops starting new ones after a failure. */
export async function pool(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < n) {
      const i = next++;
      try {
        await fn(i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, limit) }, worker));
}

/** In-flight decodes: twice libuv's pool (file reads share it), each on one libvips thread of sharp's. */
export function decodeConcurrency(): number {
  return 2 * (Number(process.env.UV_THREADPOOL_SIZE) || 4);
}

export interface DecodeOptions {
  device?: Device;
  /** skip images that fail to decode (listed in `skipped`) instead of throwing; default false */
  skipCorrupt?: boolean;
  /** called as images finish (about 200 times in all) and once at the end */
  onProgress?: (done: number, total: number) => void;
  /** bytes of decoded images the set may take (default: $UNMIX_DATASET_BUDGET, else a quarter of the memory, at most 4 GiB); more is a DatasetBudgetError */
  memoryBudget?: number;
}

/** Thrown when a tensor set is asked of images of different sizes. */
export class ImageSizeError extends Error {
  override name = 'ImageSizeError';
}

export interface SkippedImage {
  source: string;
  error: string;
}

/**
 * Decodes every image of an encoded set (in parallel on sharp's threads) into uint8 [N,3,H,W] and
 * int64 labels. All images must have one size: a different one is an error naming both files.
 */
export async function decodeImageSet(
  set: EncodedImageSet,
  options: DecodeOptions = {},
): Promise<TensorImageSet & { skipped: SkippedImage[] }> {
  const n = set.length;
  const budget = memoryBudget(options.memoryBudget, 'decodeImageSet');
  let pixels: Uint8Array | undefined;
  let first = undefined as { source: string; width: number; height: number } | undefined;
  const ok = new Uint8Array(n);
  const skipped: { index: number; source: string; error: string }[] = [];
  let done = 0;
  const every = Math.max(1, Math.floor(n / 200));
  await pool(n, decodeConcurrency(), async (i) => {
    let image: DecodedImage;
    try {
      image = await decodeRgb(await set.read(i), set.source(i));
    } catch (e) {
      if (!options.skipCorrupt)
        throw new Error(`${(e as Error).message} (pass skipCorrupt, or --skip-corrupt, to skip and list such images)`);
      skipped.push({ index: i, source: set.source(i), error: (e as Error).message });
      return;
    }
    const { data, width, height } = image;
    if (!first) {
      first = { source: set.source(i), width, height };
      checkBudget(`split '${set.split}'`, n, width, height, budget);
      try {
        pixels = new Uint8Array(n * 3 * width * height);
      } catch {
        throw new Error(
          `ImageFolder: ${n} images of ${width}×${height} do not fit in one tensor; use openImageFolder (decoded per batch)`,
        );
      }
    } else if (width !== first.width || height !== first.height) {
      throw new ImageSizeError(
        `ImageFolder: ${set.source(i)} is ${width}×${height} but ${first.source} is ${first.width}×${first.height}; ` +
          'a tensor set needs one image size: use openImageFolder (encoded, decoded and resized per batch) for images of different sizes',
      );
    }
    pixels!.set(data, i * data.byteLength); // HWC, as sharp gives it; one permute at the end
    ok[i] = 1;
    if (++done % every === 0) options.onProgress?.(done + skipped.length, n);
  });
  options.onProgress?.(n, n);
  if (!first)
    throw new Error(
      n
        ? `ImageFolder: none of the ${n} images of split '${set.split}' could be decoded`
        : `ImageFolder: split '${set.split}' has no images`,
    );
  const kept = n - skipped.length;
  const size = 3 * first.width * first.height;
  if (kept < n) {
    // close the gaps left by skipped images, keeping the order
    for (let i = 0, j = 0; i < n; i++) if (ok[i]) pixels!.copyWithin(j++ * size, i * size, (i + 1) * size);
  }
  const labels = new BigInt64Array(kept);
  for (let i = 0, j = 0; i < n; i++) if (ok[i]) labels[j++] = BigInt(set.labels[i]);
  const device = options.device ?? 'cpu';
  const { width, height } = first;
  return {
    kind: 'tensor',
    format: set.format,
    split: set.split,
    images: scope(() =>
      tensor(pixels!.subarray(0, kept * size), { shape: [kept, height, width, 3], device })
        .permute(0, 3, 1, 2)
        .contiguous(),
    ),
    labels: tensor(labels, { device }),
    classes: [...set.classes],
    skipped: skipped.sort((a, b) => a.index - b.index).map(({ source, error }) => ({ source, error })),
  };
}

/** What identifies the decoder in cache keys: another sharp or libvips may decode differently. */
export const DECODER = `sharp ${sharp.versions.sharp} libvips ${sharp.versions.vips}`;
