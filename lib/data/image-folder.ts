// ImageFolder datasets, as torchvision reads them: PATH/<split>/<class>/<image> (ImageNet's
// train/val) or PATH/<class>/<image> (one split). Class folders sorted by name give labels 0..C-1;
// files are sorted within a class; .jpg .jpeg .png (any case) are images, anything else is ignored
// and reported, and so are hidden files and folders (names starting with '.', e.g. macOS's ._x.jpg).
// Sources: a folder; a plain .tar, indexed once and read lazily at each member's offset (suits large
// archives); or a .tar.gz, decompressed once with the encoded images held in memory (fine for
// CIFAR-sized sets; extract big ones or repack them as plain .tar).
// Decoding: sharp (libvips) on libuv worker threads, like PIL's convert('RGB'): alpha dropped (not
// composited), grayscale and palettes expanded, 16-bit samples reduced to their high byte, no EXIF
// rotation. Deviations: 16-bit grayscale PNGs are scaled to 8 bits (PIL clips them), CMYK JPEGs go
// through libvips' colour management (PIL inverts naively).
// Corrupt images: loadImageFolder/decodeImageSet throw at the first image that fails to decode,
// naming it; with `skipCorrupt: true` they skip such images and list them in `skipped`. Silent data
// loss is the worse default. An empty class folder is always an error (as in torchvision): dropping
// it would shift every later label.
// Memory: a tensor set over the memory budget (budget.ts) is refused before anything is decoded, and
// so is a .tar.gz whose images would pass it. Folder names are read as bytes (io/file-names.ts).
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import * as tar from 'tar';
import { tensor } from '../creation';
import { scope } from '../memory';
import type { Device } from '../tensor';
import { cachedTensorSet, cacheFile, CachedSet, CacheStatus, defaultCacheDir, fingerprint, readTensorCache } from './cache';
import type { EncodedImageSet, TensorImageSet } from './dataset';
import { checkBudget, formatBytes, memoryBudget, sampleSizes } from './budget';
import { fileKind } from '../io/files';
import { decodeFileName, fsPath } from '../io/file-names';

const IMAGE = /\.(jpe?g|png)$/i;
/** wrapper / split / class / image: nothing deeper is listed. */
const MAX_DEPTH = 4;

/** Every folder and file of a source (posix names relative to it) and how to read a file. */
export interface SourceTree {
  /** absolute path of the folder or archive */
  path: string;
  container: 'folder' | 'tar' | 'tar.gz';
  dirs: Set<string>;
  files: Set<string>;
  /** where a member is, for messages: a file path, or ARCHIVE:member */
  where(name: string): string;
  read(name: string): Promise<Buffer>;
  /** what identifies the content of `names` for the cache: their sizes and mtimes, or the archive's */
  identity(names: string[]): unknown;
  /** entries left out, each with why: looping or dangling links, absolute or `..` archive members */
  unreadable?: string[];
}

function clean(name: string): string {
  return name.replace(/^(\.?\/)+/, '').replace(/\/+$/, '');
}

/** An archive member's name inside the source, or '' when it points outside (absolute or `..`): those are left out and listed. */
function memberName(raw: string, file: string, unreadable: string[]): string {
  if (raw.startsWith('/') || /^[A-Za-z]:[\\/]/.test(raw) || raw.split(/[\\/]/).includes('..')) {
    unreadable.push(`${file}:${raw}: a member outside the archive's folder (absolute or ..)`);
    return '';
  }
  return clean(raw);
}

function fail(message: string): never {
  throw new Error(`ImageFolder: ${message}`);
}

/** A folder: names are read as bytes (decodeFileName), so files whose names are not UTF-8 are read too. */
function folderTree(root: string): SourceTree {
  const dirs = new Set<string>();
  const files = new Set<string>();
  const unreadable: string[] = [];
  const at = (name: string) => fsPath(path.join(root, name));
  const walk = (rel: string, depth: number) => {
    let entries: fs.Dirent<Buffer>[];
    try {
      entries = fs.readdirSync(at(rel), { withFileTypes: true, encoding: 'buffer' });
    } catch (e) {
      fail(`cannot list ${path.join(root, rel)}: ${(e as Error).message}`);
    }
    for (const e of entries) {
      const base = decodeFileName(e.name);
      const name = rel ? `${rel}/${base}` : base;
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        let s: fs.Stats | undefined;
        try {
          s = fs.statSync(at(name), { throwIfNoEntry: false });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ELOOP') throw err;
          unreadable.push(`${path.join(root, name)}: a symbolic link that loops`);
          continue;
        }
        if (!s) {
          unreadable.push(`${path.join(root, name)}: a dangling symbolic link`);
          continue;
        }
        isDir = s.isDirectory();
        isFile = s.isFile();
      }
      if (isDir) {
        dirs.add(name);
        if (depth < MAX_DEPTH) walk(name, depth + 1);
      } else if (isFile) {
        files.add(name);
      }
    }
  };
  walk('', 1);
  return {
    path: root,
    container: 'folder',
    dirs,
    files,
    unreadable,
    where: (name) => path.join(root, name),
    read: async (name) => {
      try {
        return await fs.promises.readFile(at(name));
      } catch (e) {
        throw new Error(`${path.join(root, name)}: cannot read: ${(e as Error).message}`);
      }
    },
    identity: (names) =>
      names.map((n) => {
        const s = fs.statSync(at(n), { throwIfNoEntry: false });
        return s ? [n, s.size, s.mtimeMs] : [n, null];
      }),
  };
}

function archiveIdentity(file: string): unknown {
  const s = fs.statSync(file);
  return [s.size, s.mtimeMs];
}

/** .tar.gz: one pass of node-tar keeps the bytes of image members (only) in memory, at most `budget` of them. */
function gzipTree(file: string, budget: number): SourceTree {
  const dirs = new Set<string>();
  const files = new Set<string>();
  const unreadable: string[] = [];
  const data = new Map<string, Buffer>();
  let held = 0;
  try {
    tar.t({
      file,
      sync: true,
      strict: true,
      onReadEntry: (entry) => {
        const name = memberName(entry.path, file, unreadable);
        if (!name) return entry.resume();
        if (entry.type === 'Directory') dirs.add(name);
        if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') return entry.resume();
        files.add(name);
        if (!IMAGE.test(name) || held > budget) return entry.resume();
        held += entry.size ?? 0;
        if (held > budget) {
          data.clear();
          return entry.resume();
        }
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => data.set(name, Buffer.concat(chunks)));
      },
    });
  } catch (e) {
    fail(`${file} is not a readable .tar.gz (${(e as Error).message})`);
  }
  if (held > budget) {
    fail(`${file}: a .tar.gz is held in memory, and its images take more than the memory budget of ${formatBytes(budget)} (memoryBudget, or UNMIX_DATASET_BUDGET, in bytes); extract it, or repack it as a plain .tar (read lazily)`);
  }
  return {
    path: file,
    container: 'tar.gz',
    dirs,
    files,
    unreadable,
    where: (name) => `${file}:${name}`,
    read: async (name) => {
      const bytes = data.get(name);
      if (!bytes) throw new Error(`${file}:${name}: no such image in the archive`);
      return bytes;
    },
    identity: () => archiveIdentity(file),
  };
}

/** Plain .tar: headers are read once (ustar, pax and GNU long names); members are read on demand. */
function tarTree(file: string, size: number): SourceTree {
  const dirs = new Set<string>();
  const files = new Set<string>();
  const unreadable: string[] = [];
  const members = new Map<string, { offset: number; size: number }>();
  const fd = fs.openSync(file, 'r');
  try {
    const block = Buffer.alloc(512);
    const body = (at: number, n: number) => {
      const b = Buffer.alloc(n);
      if (fs.readSync(fd, b, 0, n, at) !== n) fail(`${file} is truncated (a member at byte ${at} runs past the end)`);
      return b.toString('utf8');
    };
    let ex: tar.HeaderData | undefined;
    let gex: tar.HeaderData | undefined;
    let longPath: string | undefined;
    let ended = false;
    for (let pos = 0; pos + 512 <= size; ) {
      fs.readSync(fd, block, 0, 512, pos);
      // pax values are applied here, as node-tar's ReadEntry does (Header.decode would prefix them)
      const h = new tar.Header(block, 0);
      if (h.nullBlock) {
        ended = true;
        break;
      }
      if (!h.cksumValid) fail(`${file}: corrupt tar header at byte ${pos} (bad checksum)`);
      const type = h.type as string;
      const meta = ['ExtendedHeader', 'GlobalExtendedHeader', 'NextFileHasLongPath', 'OldGnuLongPath', 'NextFileHasLongLinkpath'].includes(type);
      const start = pos + 512;
      const length = type === 'Directory' ? 0 : ((meta ? h.size : (ex?.size ?? gex?.size ?? h.size)) ?? 0);
      pos = start + Math.ceil(length / 512) * 512;
      if (start + length > size) fail(`${file} is truncated (member ${h.path} needs ${start + length} bytes, the file has ${size})`);
      if (type === 'ExtendedHeader') ex = tar.Pax.parse(body(start, length), ex, false);
      else if (type === 'GlobalExtendedHeader') gex = tar.Pax.parse(body(start, length), gex, true);
      else if (type === 'NextFileHasLongPath' || type === 'OldGnuLongPath') longPath = body(start, length).replace(/\0[\s\S]*$/, '');
      else if (type === 'NextFileHasLongLinkpath') continue;
      else {
        const name = memberName(longPath ?? ex?.path ?? h.path ?? '', file, unreadable);
        longPath = undefined;
        ex = undefined;
        if (!name) continue;
        if (type === 'Directory') dirs.add(name);
        else if (type === 'File' || type === 'OldFile' || type === 'ContiguousFile') {
          files.add(name);
          members.set(name, { offset: start, size: length });
        }
      }
    }
    // a tar ends with zero blocks: without them, it was cut at a member boundary
    if (!ended) fail(`${file} is truncated (no end-of-archive marker)`);
  } finally {
    fs.closeSync(fd);
  }
  return {
    path: file,
    container: 'tar',
    dirs,
    files,
    unreadable,
    where: (name) => `${file}:${name}`,
    read: async (name) => {
      const m = members.get(name);
      if (!m) throw new Error(`${file}:${name}: no such member in the archive`);
      const handle = await fs.promises.open(file, 'r');
      try {
        const b = Buffer.alloc(m.size);
        const { bytesRead } = await handle.read(b, 0, m.size, m.offset);
        if (bytesRead !== m.size) throw new Error(`${file}:${name}: the archive was truncated after it was indexed`);
        return b;
      } finally {
        await handle.close();
      }
    },
    identity: () => archiveIdentity(file),
  };
}

/** Lists a folder, .tar or .tar.gz (told apart by content, not by extension); a .tar.gz's images are held in memory, within `memoryBudget`. */
export function readSourceTree(source: string, options: { memoryBudget?: number } = {}): SourceTree {
  const resolved = path.resolve(source);
  const stat = fs.statSync(resolved, { throwIfNoEntry: false });
  if (!stat) fail(`${source} does not exist`);
  let tree: SourceTree;
  if (stat.isDirectory()) {
    tree = folderTree(resolved);
  } else if (!stat.isFile()) {
    fail(`${source} is neither a folder nor a regular file (${fileKind(stat)})`);
  } else {
    const head = Buffer.alloc(512);
    const fd = fs.openSync(resolved, 'r');
    const n = fs.readSync(fd, head, 0, 512, 0);
    fs.closeSync(fd);
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) tree = gzipTree(resolved, memoryBudget(options.memoryBudget, 'readSourceTree'));
    else if (n === 512 && new tar.Header(head).cksumValid) tree = tarTree(resolved, stat.size);
    else fail(`${source} is neither a folder, a .tar nor a .tar.gz`);
  }
  // Archives need not list folders: every member's parents are folders.
  for (const name of [...tree.files, ...tree.dirs]) {
    for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) tree.dirs.add(name.slice(0, i));
  }
  return tree;
}

export interface ImageFolderSplit {
  name: string;
  classes: string[];
  /** members of the source, in label-then-name order */
  files: string[];
  labels: Int32Array;
}

/** The layout of an image folder: its splits, and what was ignored. */
export interface ImageFolder {
  tree: SourceTree;
  layout: 'splits' | 'classes';
  /** the folder (inside the source) holding the splits or the class folders; '' = the source itself */
  root: string;
  splits: string[];
  /** files that are not images in a class folder (other extensions, hidden, misplaced) */
  ignored: string[];
  /** one split (optional when there is only one), or a clear error */
  split(name?: string): ImageFolderSplit;
}

const hidden = (name: string) => name.split('/').some((s) => s.startsWith('.'));
const parentOf = (name: string) => name.slice(0, Math.max(0, name.lastIndexOf('/')));
const baseOf = (name: string) => name.slice(name.lastIndexOf('/') + 1);
const sortNames = (names: string[]) => names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** Finds the layout of `source` (a path or a tree from readSourceTree). */
export function scanImageFolder(source: string | SourceTree): ImageFolder {
  const tree = typeof source === 'string' ? readSourceTree(source) : source;
  const subdirs = new Map<string, string[]>();
  const images = new Map<string, string[]>();
  const put = (map: Map<string, string[]>, name: string) => {
    const list = map.get(parentOf(name));
    if (list) list.push(name);
    else map.set(parentOf(name), [name]);
  };
  for (const d of tree.dirs) if (!hidden(d)) put(subdirs, d);
  for (const f of tree.files) if (!hidden(f) && IMAGE.test(f)) put(images, f);
  const height = (d: string): number => Math.max(0, ...(subdirs.get(d) ?? []).map((c) => 1 + height(c)));
  const expected = 'expected PATH/<class>/<image> or PATH/<split>/<class>/<image>';

  // A single wrapper folder (an archive of a folder) is looked through.
  let root = '';
  while ((subdirs.get(root) ?? []).length === 1 && !images.has(root) && height(subdirs.get(root)![0]) >= 2) root = subdirs.get(root)![0];
  const top = sortNames([...(subdirs.get(root) ?? [])]);
  const where = (name: string) => (name ? tree.where(name) : tree.path);
  if (!top.length) fail(`${where(root)} has no class folders (${expected})`);
  const tall = top.find((d) => height(d) >= 2);
  if (tall) {
    const deep = (d: string, n: number): string => (n === 0 ? d : deep(subdirs.get(d)!.find((c) => height(c) >= n - 1)!, n - 1));
    fail(`${where(deep(tall, 2))} is nested too deep (${expected}; class folders hold their images directly)`);
  }
  const layout = top.some((d) => height(d) === 1) ? 'splits' : 'classes';

  const used = new Set<string>();
  const splitOf = (folder: string, name: string): ImageFolderSplit | string => {
    const classDirs = sortNames([...(subdirs.get(folder) ?? [])]);
    if (!classDirs.length) return `split folder ${where(folder)} has no class folders (${expected})`;
    const files: string[] = [];
    const labels: number[] = [];
    for (const [label, dir] of classDirs.entries()) {
      if (subdirs.has(dir)) return `${where(sortNames(subdirs.get(dir)!)[0])} is nested too deep (${expected}; class folders hold their images directly)`;
      const members = sortNames([...(images.get(dir) ?? [])]);
      if (!members.length) return `class folder ${where(dir)} holds no .jpg/.jpeg/.png images (remove the folder or add images: an empty class would shift the labels)`;
      for (const f of members) {
        files.push(f);
        labels.push(label);
        used.add(f);
      }
    }
    return { name, classes: classDirs.map(baseOf), files, labels: Int32Array.from(labels) };
  };
  const splits = new Map<string, ImageFolderSplit | string>();
  if (layout === 'classes') {
    const name = root ? baseOf(root) : path.basename(tree.path).replace(/\.(tar|tar\.gz|tgz)$/i, '');
    splits.set(name, splitOf(root, name));
  } else {
    for (const d of top) splits.set(baseOf(d), splitOf(d, baseOf(d)));
  }
  const names = [...splits.keys()];
  return {
    tree,
    layout,
    root,
    splits: names,
    ignored: sortNames([...tree.files].filter((f) => !used.has(f))),
    split(name?: string): ImageFolderSplit {
      let chosen = name;
      if (layout === 'classes') {
        if (name !== undefined && name !== names[0]) {
          fail(`${where(root)} is a single split ('${names[0]}': class folders directly inside), it has no split '${name}'`);
        }
        chosen = names[0];
      } else if (name === undefined) {
        if (names.length > 1) fail(`${where(root)} has splits ${names.join(', ')}: choose one with { split }`);
        chosen = names[0];
      } else if (!splits.has(name)) {
        fail(`${where(root)} has no split '${name}' (it has ${names.join(', ')})`);
      }
      const s = splits.get(chosen!)!;
      if (typeof s === 'string') fail(s);
      return s;
    },
  };
}

/** One split as encoded images: lazy, any sizes; decode with decodeRgb or decodeImageSet. */
export function openImageFolder(source: string | ImageFolder, options: { split?: string } = {}): EncodedImageSet {
  const folder = typeof source === 'string' ? scanImageFolder(source) : source;
  const s = folder.split(options.split);
  const check = (i: number) => {
    if (!Number.isInteger(i) || i < 0 || i >= s.files.length) throw new RangeError(`ImageFolder: image index ${i} out of range [0, ${s.files.length})`);
    return s.files[i];
  };
  return {
    kind: 'encoded',
    format: 'image-folder',
    split: s.name,
    length: s.files.length,
    labels: s.labels,
    classes: s.classes,
    source: (i) => folder.tree.where(check(i)),
    read: (i) => folder.tree.read(check(i)),
  };
}

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
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
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
    out = await sharp(bytes, { failOn: 'truncated', limitInputPixels: MAX_IMAGE_PIXELS }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    const message = String((e as Error).message).split('\n')[0];
    if (/pixel limit/i.test(message)) {
      const { width = 0, height = 0 } = await sharp(bytes).metadata().catch(() => ({ width: 0, height: 0 }));
      throw new Error(`${source}: cannot decode image: ${width}×${height} is more than ${MAX_IMAGE_PIXELS} pixels (PIL's decompression-bomb limit)`);
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

export interface ImageFolderTensorSet extends TensorImageSet {
  /** images left out with skipCorrupt */
  skipped: SkippedImage[];
  /** 'off' without a cache; otherwise how the cache was found ('hit' = nothing decoded) */
  cache: { status: CacheStatus | 'off'; file?: string; reason?: string };
}

/**
 * Decodes every image of an encoded set (in parallel on sharp's threads) into uint8 [N,3,H,W] and
 * int64 labels. All images must have one size: a different one is an error naming both files.
 */
export async function decodeImageSet(set: EncodedImageSet, options: DecodeOptions = {}): Promise<TensorImageSet & { skipped: SkippedImage[] }> {
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
      if (!options.skipCorrupt) throw new Error(`${(e as Error).message} (pass skipCorrupt, or --skip-corrupt, to skip and list such images)`);
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
        throw new Error(`ImageFolder: ${n} images of ${width}×${height} do not fit in one tensor; use openImageFolder (decoded per batch)`);
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
  if (!first) throw new Error(n ? `ImageFolder: none of the ${n} images of split '${set.split}' could be decoded` : `ImageFolder: split '${set.split}' has no images`);
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
    images: scope(() => tensor(pixels!.subarray(0, kept * size), { shape: [kept, height, width, 3], device }).permute(0, 3, 1, 2).contiguous()),
    labels: tensor(labels, { device }),
    classes: [...set.classes],
    skipped: skipped.sort((a, b) => a.index - b.index).map(({ source, error }) => ({ source, error })),
  };
}

export interface LoadImageFolderOptions extends DecodeOptions {
  split?: string;
  /** folder of the decoded-image cache (default: defaultCacheDir()); false decodes every time */
  cacheDir?: string | false;
}

/**
 * One split decoded into uint8 [N,3,H,W] + int64 labels (all images of one size), cached so that a
 * source is decoded once: later loads read the cache while the source is unchanged.
 */
export async function loadImageFolder(source: string | ImageFolder, options: LoadImageFolderOptions = {}): Promise<ImageFolderTensorSet> {
  const dir = options.cacheDir ?? defaultCacheDir();
  const budget = memoryBudget(options.memoryBudget, 'loadImageFolder');
  const device = options.device ?? 'cpu';
  const finish = (result: CachedSet, total: number): ImageFolderTensorSet => {
    const skipped = JSON.parse(result.metadata.skipped ?? '[]') as SkippedImage[];
    if (skipped.length && !options.skipCorrupt) {
      result.set.images.dispose();
      result.set.labels.dispose();
      throw new Error(`${skipped[0].error} (found when the cache ${result.file} was written with skipCorrupt; pass skipCorrupt, or --skip-corrupt, to skip and list such images)`);
    }
    if (result.status === 'hit') options.onProgress?.(total, total);
    return { ...result.set, format: 'image-folder', skipped, cache: { status: result.status, file: result.file, reason: result.reason } };
  };
  // An archive's cache is keyed by the archive itself, so a hit skips listing (decompressing) it.
  if (typeof source === 'string' && dir !== false && options.split !== undefined && fs.statSync(source, { throwIfNoEntry: false })?.isFile()) {
    const key = { dir, source: path.resolve(source), split: options.split, fingerprint: archiveKey(path.resolve(source), options.split) };
    const found = readTensorCache(cacheFile(key), key.fingerprint, device, budget);
    if (found.status === 'hit') return finish({ ...found, file: cacheFile(key) }, found.set.images.shape[0]);
  }
  const folder = typeof source === 'string' ? scanImageFolder(readSourceTree(source, { memoryBudget: budget })) : source;
  const s = folder.split(options.split);
  const set = openImageFolder(folder, { split: s.name });
  // up front, from a few headers: nothing is decoded (or read from the cache) for a split over its budget
  const { largest } = await sampleSizes(set);
  if (largest) checkBudget(`split '${s.name}' of ${folder.tree.path}`, s.files.length, largest.width, largest.height, budget);
  options = { ...options, memoryBudget: budget };
  if (dir === false) return { ...(await decodeImageSet(set, options)), cache: { status: 'off' } };
  const key =
    folder.tree.container === 'folder'
      ? fingerprint({ decoder: DECODER, root: folder.root, split: s.name, classes: s.classes, files: s.files, content: folder.tree.identity(s.files) })
      : archiveKey(folder.tree.path, s.name);
  const result = await cachedTensorSet(
    { dir, source: folder.tree.path, split: s.name, fingerprint: key },
    async () => {
      const decoded = await decodeImageSet(set, options);
      return { set: decoded, metadata: { skipped: JSON.stringify(decoded.skipped) } };
    },
    device,
  );
  return finish(result, s.files.length);
}

const DECODER = `sharp ${sharp.versions.sharp} libvips ${sharp.versions.vips}`;

/** An archive's content is known by its size and mtime (its layout follows from its content). */
function archiveKey(file: string, split: string): string {
  return fingerprint({ decoder: DECODER, archive: archiveIdentity(file), split });
}
