// ImageFolder datasets, as torchvision reads them: PATH/<split>/<class>/<image> (ImageNet's
// train/val) or PATH/<class>/<image> (one split). Class folders sorted by name give labels 0..C-1;
// files are sorted within a class; .jpg .jpeg .png (any case) are images, anything else is ignored
// and reported, and so are hidden files and folders (names starting with '.', e.g. macOS's ._x.jpg).
// An empty class folder is always an error (as in torchvision): dropping it would shift every later
// label. Sources (folder, .tar, .tar.gz) are read by sources/; images are decoded by decode.ts.
// Memory: a tensor set over the memory budget (budget.ts) is refused before anything is decoded, and
// so is a .tar.gz whose images would pass it.
import * as fs from 'fs';
import * as path from 'path';
import {
  cachedTensorSet,
  cacheFile,
  CachedSet,
  CacheStatus,
  defaultCacheDir,
  fingerprint,
  readTensorCache,
} from './cache';
import type { EncodedImageSet, TensorImageSet } from './dataset';
import { checkBudget, memoryBudget, sampleSizes } from './budget';
import { DECODER, decodeImageSet, DecodeOptions, SkippedImage } from './decode';
import { readSourceTree, SourceTree } from './sources';
import { archiveIdentity, fail, IMAGE } from './sources/source-tree';

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
  while ((subdirs.get(root) ?? []).length === 1 && !images.has(root) && height(subdirs.get(root)![0]) >= 2)
    root = subdirs.get(root)![0];
  const top = sortNames([...(subdirs.get(root) ?? [])]);
  const where = (name: string) => (name ? tree.where(name) : tree.path);
  if (!top.length) fail(`${where(root)} has no class folders (${expected})`);
  const tall = top.find((d) => height(d) >= 2);
  if (tall) {
    const deep = (d: string, n: number): string =>
      n === 0
        ? d
        : deep(
            subdirs.get(d)!.find((c) => height(c) >= n - 1)!,
            n - 1,
          );
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
      if (subdirs.has(dir))
        return `${where(sortNames(subdirs.get(dir)!)[0])} is nested too deep (${expected}; class folders hold their images directly)`;
      const members = sortNames([...(images.get(dir) ?? [])]);
      if (!members.length)
        return `class folder ${where(dir)} holds no .jpg/.jpeg/.png images (remove the folder or add images: an empty class would shift the labels)`;
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
          fail(
            `${where(root)} is a single split ('${names[0]}': class folders directly inside), it has no split '${name}'`,
          );
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
    if (!Number.isInteger(i) || i < 0 || i >= s.files.length)
      throw new RangeError(`ImageFolder: image index ${i} out of range [0, ${s.files.length})`);
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

export interface ImageFolderTensorSet extends TensorImageSet {
  /** images left out with skipCorrupt */
  skipped: SkippedImage[];
  /** 'off' without a cache; otherwise how the cache was found ('hit' = nothing decoded) */
  cache: { status: CacheStatus | 'off'; file?: string; reason?: string };
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
export async function loadImageFolder(
  source: string | ImageFolder,
  options: LoadImageFolderOptions = {},
): Promise<ImageFolderTensorSet> {
  const dir = options.cacheDir ?? defaultCacheDir();
  const budget = memoryBudget(options.memoryBudget, 'loadImageFolder');
  const device = options.device ?? 'cpu';
  const finish = (result: CachedSet, total: number): ImageFolderTensorSet => {
    const skipped = JSON.parse(result.metadata.skipped ?? '[]') as SkippedImage[];
    if (skipped.length && !options.skipCorrupt) {
      result.set.images.dispose();
      result.set.labels.dispose();
      throw new Error(
        `${skipped[0].error} (found when the cache ${result.file} was written with skipCorrupt; pass skipCorrupt, or --skip-corrupt, to skip and list such images)`,
      );
    }
    if (result.status === 'hit') options.onProgress?.(total, total);
    return {
      ...result.set,
      format: 'image-folder',
      skipped,
      cache: { status: result.status, file: result.file, reason: result.reason },
    };
  };
  // An archive's cache is keyed by the archive itself, so a hit skips listing (decompressing) it.
  if (
    typeof source === 'string' &&
    dir !== false &&
    options.split !== undefined &&
    fs.statSync(source, { throwIfNoEntry: false })?.isFile()
  ) {
    const key = {
      dir,
      source: path.resolve(source),
      split: options.split,
      fingerprint: archiveKey(path.resolve(source), options.split),
    };
    const found = readTensorCache(cacheFile(key), key.fingerprint, device, budget);
    if (found.status === 'hit') return finish({ ...found, file: cacheFile(key) }, found.set.images.shape[0]);
  }
  const folder =
    typeof source === 'string' ? scanImageFolder(readSourceTree(source, { memoryBudget: budget })) : source;
  const s = folder.split(options.split);
  const set = openImageFolder(folder, { split: s.name });
  // up front, from a few headers: nothing is decoded (or read from the cache) for a split over its budget
  const { largest } = await sampleSizes(set);
  if (largest)
    checkBudget(`split '${s.name}' of ${folder.tree.path}`, s.files.length, largest.width, largest.height, budget);
  options = { ...options, memoryBudget: budget };
  if (dir === false) return { ...(await decodeImageSet(set, options)), cache: { status: 'off' } };
  const key =
    folder.tree.container === 'folder'
      ? fingerprint({
          decoder: DECODER,
          root: folder.root,
          split: s.name,
          classes: s.classes,
          files: s.files,
          content: folder.tree.identity(s.files),
        })
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

/** An archive's content is known by its size and mtime (its layout follows from its content). */
function archiveKey(file: string, split: string): string {
  return fingerprint({ decoder: DECODER, archive: archiveIdentity(file), split });
}
