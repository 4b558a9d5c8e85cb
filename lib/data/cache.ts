// A uint8 cache of decoded image sets, so an image folder is decoded once. One safetensors file per
// source and split (images uint8 [N,3,H,W], labels int64 [N]), written atomically, whose metadata
// holds the source's fingerprint (what was read: file names, sizes and mtimes, or the archive's size
// and mtime, plus the decoder version) and a SHA-256 of the tensor bytes. A cache is used only when
// the fingerprint matches and every check passes; a stale or damaged one is rebuilt, never trusted.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { inspectSafetensors, loadSafetensors, saveSafetensors } from '../io/safetensors';
import type { Device, Tensor } from '../tensor';
import type { DatasetFormat, TensorImageSet } from './dataset';
import { makeDir } from '../io/files';

/** Bumped whenever the file layout or the decoding changes meaning. */
export const CACHE_VERSION = '1';

export type CacheStatus = 'hit' | 'miss' | 'stale' | 'corrupt';

/** $UNMIX_CACHE_DIR, else $XDG_CACHE_HOME/unmix, else ~/.cache/unmix. */
export function defaultCacheDir(): string {
  if (process.env.UNMIX_CACHE_DIR) return path.resolve(process.env.UNMIX_CACHE_DIR);
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'unmix');
}

/** A short stable digest of any JSON value. */
export function fingerprint(parts: unknown): string {
  return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export interface CacheKey {
  dir: string;
  /** absolute path of the source */
  source: string;
  split: string;
  /** what the cached content was made from: a different one makes the cache stale */
  fingerprint: string;
}

/** One file per source and split, so a changed source replaces its cache instead of adding one. */
export function cacheFile(key: CacheKey): string {
  const id = fingerprint([path.resolve(key.source), key.split]).slice(0, 16);
  const label = `${path.basename(key.source)}-${key.split}`.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60);
  return path.join(key.dir, `${label}-${id}.safetensors`);
}

function bytesOf(t: Tensor): Uint8Array {
  const a = t.data();
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export type CacheRead =
  | { status: 'hit'; set: TensorImageSet; metadata: Record<string, string> }
  | { status: 'miss' | 'stale' | 'corrupt'; reason: string };

/** Reads a cache file if it is valid for `expected` (a fingerprint) and its images take at most `maxBytes`; says why not otherwise. */
export function readTensorCache(
  file: string,
  expected: string,
  device: Device = 'cpu',
  maxBytes = Infinity,
): CacheRead {
  if (!fs.existsSync(file)) return { status: 'miss', reason: 'no cache file' };
  let metadata: Record<string, string>;
  try {
    const head = inspectSafetensors(file);
    metadata = head.metadata;
    if (metadata.unmix_cache !== CACHE_VERSION)
      return { status: 'stale', reason: `cache version ${metadata.unmix_cache ?? 'none'}, expected ${CACHE_VERSION}` };
    if (metadata.fingerprint !== expected)
      return { status: 'stale', reason: 'the source changed since the cache was written' };
    const images = head.tensors.find((t) => t.name === 'images');
    const labels = head.tensors.find((t) => t.name === 'labels');
    if (
      head.tensors.length !== 2 ||
      images?.dtype !== 'uint8' ||
      images.shape.length !== 4 ||
      images.shape[1] !== 3 ||
      labels?.dtype !== 'int64' ||
      labels.shape.join() !== `${images.shape[0]}`
    ) {
      return { status: 'corrupt', reason: 'unexpected tensors' };
    }
    const bytes = images.shape.reduce((a, b) => a * b, 1);
    if (bytes > maxBytes)
      return { status: 'miss', reason: `its ${bytes} bytes of images are over the memory budget (${maxBytes} bytes)` };
    const buffer = fs.readFileSync(file);
    const data = buffer.subarray(8 + Number(buffer.readBigUInt64LE(0)));
    if (crypto.createHash('sha256').update(data).digest('hex') !== metadata.sha256)
      return { status: 'corrupt', reason: 'checksum mismatch' };
  } catch (e) {
    return { status: 'corrupt', reason: (e as Error).message };
  }
  let classes: unknown;
  try {
    classes = JSON.parse(metadata.classes);
  } catch {
    classes = undefined;
  }
  if (!Array.isArray(classes) || !classes.every((c) => typeof c === 'string'))
    return { status: 'corrupt', reason: 'class names missing' };
  let tensors: Record<string, Tensor>;
  try {
    tensors = loadSafetensors(file, { device }).tensors;
  } catch (e) {
    return { status: 'corrupt', reason: (e as Error).message };
  }
  const labels = Array.from(tensors.labels.data() as BigInt64Array, Number);
  if (labels.some((l) => l < 0 || l >= classes.length)) {
    tensors.images.dispose();
    tensors.labels.dispose();
    return { status: 'corrupt', reason: 'labels out of range' };
  }
  return {
    status: 'hit',
    set: {
      kind: 'tensor',
      format: metadata.format as DatasetFormat,
      split: metadata.split,
      images: tensors.images,
      labels: tensors.labels,
      classes,
    },
    metadata,
  };
}

/** Writes a set atomically with its fingerprint; `extra` adds string metadata. */
export function writeTensorCache(
  file: string,
  set: TensorImageSet,
  expected: string,
  extra: Record<string, string> = {},
): void {
  makeDir(path.dirname(file)); // its errors start with the code: 'could not write the cache: ENOTDIR: ...'
  // safetensors stores tensors sorted by name: images, then labels
  const sha256 = crypto.createHash('sha256').update(bytesOf(set.images)).update(bytesOf(set.labels)).digest('hex');
  saveSafetensors(
    file,
    { images: set.images, labels: set.labels },
    {
      ...extra,
      unmix_cache: CACHE_VERSION,
      fingerprint: expected,
      sha256,
      format: set.format,
      split: set.split,
      classes: JSON.stringify(set.classes),
    },
  );
}

export interface CachedSet {
  set: TensorImageSet;
  status: CacheStatus;
  file: string;
  /** why the cache was not used (miss, stale, corrupt), or why it could not be written */
  reason?: string;
  metadata: Record<string, string>;
}

/**
 * The cached set for `key` if valid; otherwise `build()`s it and writes the cache. A cache that cannot
 * be written (read-only folder, full disk) is a warning, not an error: the built set is returned.
 */
export async function cachedTensorSet(
  key: CacheKey,
  build: () => Promise<{ set: TensorImageSet; metadata?: Record<string, string> }>,
  device: Device = 'cpu',
): Promise<CachedSet> {
  const file = cacheFile(key);
  const found = readTensorCache(file, key.fingerprint, device);
  if (found.status === 'hit') return { set: found.set, status: 'hit', file, metadata: found.metadata };
  const { set, metadata = {} } = await build();
  let reason = found.reason;
  try {
    writeTensorCache(file, set, key.fingerprint, metadata);
  } catch (e) {
    reason = `could not write the cache: ${(e as Error).message}`;
    process.emitWarning(`unmix: ${file}: ${reason}`);
  }
  return { set, status: found.status, file, reason, metadata };
}
