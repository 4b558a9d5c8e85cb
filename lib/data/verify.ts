// skipCorrupt for sets kept encoded (images of several sizes, or over the memory budget): every image
// is decoded once up front, those that fail are left out of the returned view and listed, so the
// Loader never meets them. The verdict is cached as a small JSON file next to the tensor caches,
// keyed by the split's files (names, sizes, mtimes) and the decoder, so a large folder is checked once.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { writeFileAtomic } from '../io/safetensors';
import { cacheFile, fingerprint } from './cache';
import type { EncodedImageSet } from './dataset';
import { decodeConcurrency, decodeRgb, pool, SkippedImage } from './decode';

export interface VerifyOptions {
  /** folder of the verdict cache; false: decode every time */
  cacheDir: string | false;
  /** what identifies the split's content (e.g. SourceTree.identity of its files) */
  identity: unknown;
  /** absolute path of the source, for the cache file's name */
  source: string;
  onProgress?: (done: number, total: number) => void;
}

export type VerifiedSet = EncodedImageSet & { skipped: SkippedImage[] };

/** The images of `set` that decode, as a re-indexed view, and the ones that do not (in index order). */
export async function withoutCorrupt(set: EncodedImageSet, options: VerifyOptions): Promise<VerifiedSet> {
  const key = fingerprint({
    verify: 1,
    decoder: `sharp ${sharp.versions.sharp} libvips ${sharp.versions.vips}`,
    split: set.split,
    length: set.length,
    identity: options.identity,
  });
  const file =
    options.cacheDir === false
      ? null
      : cacheFile({
          dir: options.cacheDir,
          source: options.source,
          split: `${set.split}-verified`,
          fingerprint: key,
        }).replace(/\.safetensors$/, '.json');
  let bad = file ? readVerdict(file, key, set.length) : null;
  if (!bad) {
    const found: number[] = [];
    let done = 0;
    const every = Math.max(1, Math.floor(set.length / 200));
    await pool(set.length, decodeConcurrency(), async (i) => {
      try {
        await decodeRgb(await set.read(i), set.source(i));
      } catch {
        found.push(i);
      }
      if (++done % every === 0) options.onProgress?.(done, set.length);
    });
    bad = found.sort((a, b) => a - b);
    if (file) {
      try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        writeFileAtomic(file, [Buffer.from(JSON.stringify({ fingerprint: key, bad }))]);
      } catch (e) {
        process.emitWarning(`unmix: ${file}: could not write the cache: ${(e as Error).message}`);
      }
    }
  }
  options.onProgress?.(set.length, set.length);
  const skipped = await Promise.all(
    bad.map(async (i) => ({ source: set.source(i), error: await decodeError(set, i) })),
  );
  if (bad.length === set.length)
    throw new Error(
      `ImageFolder: none of the ${set.length} images of split '${set.split}' could be decoded (${skipped[0]?.error ?? 'no images'})`,
    );
  const isBad = new Uint8Array(set.length);
  for (const i of bad) isBad[i] = 1;
  const indices = Int32Array.from({ length: set.length }, (_, i) => i).filter((i) => !isBad[i]);
  const at = (i: number) => {
    if (!Number.isInteger(i) || i < 0 || i >= indices.length)
      throw new RangeError(`ImageFolder: image index ${i} out of range [0, ${indices.length})`);
    return indices[i];
  };
  return {
    ...set,
    length: indices.length,
    labels: Int32Array.from(indices, (i) => set.labels[i]),
    source: (i) => set.source(at(i)),
    read: (i) => set.read(at(i)),
    skipped,
  };
}

/** The cached list of bad indices, or null when the cache is missing, stale or unreadable. */
function readVerdict(file: string, key: string, length: number): number[] | null {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as { fingerprint?: string; bad?: unknown };
    if (
      v.fingerprint !== key ||
      !Array.isArray(v.bad) ||
      !v.bad.every((i) => Number.isInteger(i) && i >= 0 && i < length)
    )
      return null;
    return v.bad as number[];
  } catch {
    return null;
  }
}

/** The decoder's message for image i (only the few bad images are decoded again, for their message). */
async function decodeError(set: EncodedImageSet, i: number): Promise<string> {
  try {
    await decodeRgb(await set.read(i), set.source(i));
    return `${set.source(i)}: could not be decoded when the folder was checked`;
  } catch (e) {
    return (e as Error).message;
  }
}
