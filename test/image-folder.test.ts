// ImageFolder datasets (folder, .tar, .tar.gz), the decoder against PIL, the decoded-image cache,
// subsets, and the real CIFAR-10 JPEGs (../shared/data/cifar10-jpeg.tar.gz, when present).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import sharp from 'sharp';
import * as tar from 'tar';
import * as u from '../lib';
import { cacheFile } from '../lib/data/cache';
import type { EncodedImageSet, TensorImageSet } from '../lib/data/dataset';
import { decodeImageSet, decodeRgb, ImageSizeError } from '../lib/data/decode';
import { loadImageFolder, openImageFolder, scanImageFolder } from '../lib/data/image-folder';
import { subsetImageSet, subsetIndices } from '../lib/data/subset';
import { device, values } from './helpers';
import { python, pythonHas } from './support/python';

const root = path.join(__dirname, '..');
const hasPil = pythonHas('PIL, numpy');
const cifarArchive = path.join(root, '..', 'shared', 'data', 'cifar10-jpeg.tar.gz');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-image-folder-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Deterministic RGB pixels (HWC). */
function pattern(width: number, height: number, seed: number): Buffer {
  let s = seed * 7919 + 17;
  const b = Buffer.alloc(width * height * 3);
  for (let i = 0; i < b.length; i++) b[i] = (s = (s * 1103515245 + 12345) % 2147483648) >> 16;
  return b;
}

/** Writes an image and returns its pixels (HWC). */
async function writeImage(file: string, width: number, height: number, seed: number): Promise<Buffer> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const pixels = pattern(width, height, seed);
  const img = sharp(pixels, { raw: { width, height, channels: 3 } });
  await (/\.png$/i.test(file) ? img.png() : img.jpeg({ quality: 90 })).toFile(file);
  return pixels;
}

function chw(hwc: Uint8Array, width: number, height: number): number[] {
  const out: number[] = [];
  for (let c = 0; c < 3; c++) for (let p = 0; p < width * height; p++) out.push(hwc[p * 3 + c]);
  return out;
}

function dispose(set: TensorImageSet) {
  set.images.dispose();
  set.labels.dispose();
}

// ds/train/{dog,cat,bird}, ds/test/{bird,cat,dog}: 8×6 PNGs, plus files that must be ignored
const ds = path.join(tmp, 'ds');
const pixels = new Map<string, Buffer>();
beforeAll(async () => {
  const files: [string, number][] = [
    ['train/dog/b.png', 1],
    ['train/dog/a.png', 2],
    ['train/cat/C.PNG', 3],
    ['train/cat/a.png', 4],
    ['train/cat/b.png', 5],
    ['train/bird/x.png', 6],
    ['test/bird/1.png', 7],
    ['test/cat/1.png', 8],
    ['test/dog/1.png', 9],
    ['test/dog/2.png', 10],
  ];
  for (const [name, seed] of files) pixels.set(name, await writeImage(path.join(ds, name), 8, 6, seed));
  fs.writeFileSync(path.join(ds, 'README.md'), 'not an image');
  fs.writeFileSync(path.join(ds, 'train', 'stray.png'), 'not in a class folder');
  fs.writeFileSync(path.join(ds, 'train', 'cat', 'notes.txt'), 'x');
  fs.writeFileSync(path.join(ds, 'train', 'cat', '.DS_Store'), 'x');
  fs.writeFileSync(path.join(ds, 'train', 'cat', '._a.png'), 'AppleDouble, not a PNG');
  fs.mkdirSync(path.join(ds, '.git', 'objects'), { recursive: true });
});

describe('layout', () => {
  test('PATH/<split>/<class>/<image>: classes and files sorted by name, labels, ignored files', async () => {
    const folder = scanImageFolder(ds);
    expect(folder.layout).toBe('splits');
    expect(folder.splits).toEqual(['test', 'train']);
    const train = folder.split('train');
    expect(train.classes).toEqual(['bird', 'cat', 'dog']);
    // code-point order, as Python's sorted(): 'C.PNG' < 'a.png'
    expect(train.files).toEqual([
      'train/bird/x.png',
      'train/cat/C.PNG',
      'train/cat/a.png',
      'train/cat/b.png',
      'train/dog/a.png',
      'train/dog/b.png',
    ]);
    expect(Array.from(train.labels)).toEqual([0, 1, 1, 1, 2, 2]);
    expect(folder.ignored).toEqual([
      'README.md',
      'train/cat/.DS_Store',
      'train/cat/._a.png',
      'train/cat/notes.txt',
      'train/stray.png',
    ]);
    expect(() => folder.split()).toThrow(/has splits test, train: choose one with \{ split \}/);
    expect(() => folder.split('val')).toThrow(/has no split 'val' \(it has test, train\)/);

    const set = openImageFolder(ds, { split: 'test' });
    expect(set.kind).toBe('encoded');
    expect(set.length).toBe(4);
    expect(Array.from(set.labels)).toEqual([0, 1, 2, 2]);
    expect(set.source(3)).toBe(path.join(ds, 'test', 'dog', '2.png'));
    expect((await set.read(3)).equals(fs.readFileSync(path.join(ds, 'test', 'dog', '2.png')))).toBe(true);
    expect(() => set.source(4)).toThrow(/image index 4 out of range \[0, 4\)/);
  });

  test('decoded tensor set: uint8 [N,3,H,W] equal to the PNG pixels, int64 labels on the device', async () => {
    const set = await loadImageFolder(ds, { split: 'train', device, cacheDir: false });
    expect(set.images.shape).toEqual([6, 3, 6, 8]);
    expect(set.images.dtype).toBe('uint8');
    expect(set.labels.dtype).toBe('int64');
    expect(set.images.device).toMatch(new RegExp(`^${device}`));
    expect(values(set.labels)).toEqual([0, 1, 1, 1, 2, 2]);
    expect(set.cache.status).toBe('off');
    const order = [
      'train/bird/x.png',
      'train/cat/C.PNG',
      'train/cat/a.png',
      'train/cat/b.png',
      'train/dog/a.png',
      'train/dog/b.png',
    ];
    expect(values(set.images)).toEqual(order.flatMap((name) => chw(pixels.get(name)!, 8, 6)));
    dispose(set);
  });

  test('PATH/<class>/<image> is one split, named after its folder', async () => {
    const folder = scanImageFolder(path.join(ds, 'train'));
    expect(folder.layout).toBe('classes');
    expect(folder.splits).toEqual(['train']);
    expect(folder.split().classes).toEqual(['bird', 'cat', 'dog']);
    expect(folder.split('train').files).toEqual([
      'bird/x.png',
      'cat/C.PNG',
      'cat/a.png',
      'cat/b.png',
      'dog/a.png',
      'dog/b.png',
    ]);
    expect(() => folder.split('test')).toThrow(
      /is a single split \('train': class folders directly inside\), it has no split 'test'/,
    );
  });

  test('.tar and .tar.gz (with or without folder entries, long names) read like the folder', async () => {
    const long = 'c'.repeat(120); // > 100 characters: pax / GNU long-name headers
    const extra = path.join(tmp, 'long', 'ds', 'train', long, 'i.png');
    await writeImage(extra, 8, 6, 11);
    fs.cpSync(ds, path.join(tmp, 'long', 'ds'), { recursive: true });
    const archives = {
      tar: path.join(tmp, 'ds.tar'),
      gz: path.join(tmp, 'ds.tar.gz'),
      filesOnly: path.join(tmp, 'files-only.tar'),
    };
    await tar.c({ cwd: path.join(tmp, 'long'), file: archives.tar }, ['ds']);
    await tar.c({ cwd: path.join(tmp, 'long'), file: archives.gz, gzip: true }, ['ds']);
    const members = (dir: string): string[] =>
      fs
        .readdirSync(path.join(tmp, 'long', dir), { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? members(`${dir}/${e.name}`) : [`${dir}/${e.name}`]));
    await tar.c({ cwd: path.join(tmp, 'long'), file: archives.filesOnly, noDirRecurse: true }, members('ds'));
    const reference = await loadImageFolder(path.join(tmp, 'long', 'ds'), { split: 'train', cacheDir: false });
    expect(reference.classes).toEqual(['bird', 'cat', long, 'dog']);
    for (const [kind, archive] of Object.entries(archives)) {
      const folder = scanImageFolder(archive);
      expect({ kind, container: folder.tree.container }).toEqual({ kind, container: kind === 'gz' ? 'tar.gz' : 'tar' });
      expect(folder.root).toBe('ds'); // the wrapper folder is looked through
      expect(folder.splits).toEqual(['test', 'train']);
      expect(folder.ignored).toContain('ds/README.md');
      const set = await loadImageFolder(folder, { split: 'train', cacheDir: false });
      expect(set.classes).toEqual(reference.classes);
      expect(set.images.equal(reference.images)).toBe(true);
      expect(set.labels.equal(reference.labels)).toBe(true);
      const encoded = openImageFolder(folder, { split: 'train' });
      expect(encoded.source(4)).toBe(`${archive}:ds/train/${long}/i.png`);
      expect((await encoded.read(4)).equals(fs.readFileSync(extra))).toBe(true);
      dispose(set);
    }
    dispose(reference);
  });
});

describe('decoding', () => {
  const hasPilTest = hasPil ? test : test.skip;
  hasPilTest(
    `every PNG/JPEG mode decodes to PIL's convert('RGB'): PNGs exactly, JPEGs within 1${hasPil ? '' : ` (skipped: ${python} has no PIL/numpy)`}`,
    async () => {
      const dir = path.join(tmp, 'variants');
      fs.mkdirSync(dir);
      execFileSync(python, [path.join(__dirname, 'fixtures', 'make_decode_fixtures.py'), 'variants', dir], {
        stdio: 'pipe',
      });
      const index = JSON.parse(fs.readFileSync(path.join(dir, 'variants.json'), 'utf8')) as {
        file: string;
        width: number;
        height: number;
        lossy: boolean;
      }[];
      expect(index.length).toBeGreaterThanOrEqual(10);
      for (const v of index) {
        const ours = await decodeRgb(fs.readFileSync(path.join(dir, v.file)), v.file);
        const theirs = fs.readFileSync(path.join(dir, `${v.file}.rgb`));
        expect([v.file, ours.width, ours.height]).toEqual([v.file, v.width, v.height]);
        let maxDiff = 0;
        for (let i = 0; i < theirs.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours.data[i] - theirs[i]));
        expect({ file: v.file, maxDiff }).toEqual({ file: v.file, maxDiff: v.lossy ? expect.any(Number) : 0 });
        expect(maxDiff).toBeLessThanOrEqual(1);
      }
    },
  );

  test('16-bit PNGs reduce to their high byte (as PIL does for RGB)', async () => {
    const chunk = (type: string, data: Buffer) => {
      const body = Buffer.concat([Buffer.from(type), data]);
      const head = Buffer.alloc(4);
      head.writeUInt32BE(data.length);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(zlib.crc32(body));
      return Buffer.concat([head, body, crc]);
    };
    const samples = [0, 1000, 65535, 2000, 300, 40000, 1, 128, 383, 32767, 32768, 65280];
    const ihdr = Buffer.from([0, 0, 0, 2, 0, 0, 0, 2, 16, 2, 0, 0, 0]); // 2×2, 16-bit RGB
    const rows = [0, 1].map((r) =>
      Buffer.concat([Buffer.from([0]), ...samples.slice(r * 6, r * 6 + 6).map((v) => Buffer.from([v >> 8, v & 255]))]),
    );
    const png = Buffer.concat([
      Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
      chunk('IHDR', ihdr),
      chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))),
      chunk('IEND', Buffer.alloc(0)),
    ]);
    const out = await decodeRgb(png, 'u16.png');
    expect(Array.from(out.data)).toEqual(samples.map((v) => v >> 8));
  });

  test('corrupt images: an error naming the file, or skipped and listed with skipCorrupt', async () => {
    const dir = path.join(tmp, 'corrupt');
    await writeImage(path.join(dir, 'a', '0.jpg'), 8, 8, 1);
    await writeImage(path.join(dir, 'a', '1.jpg'), 8, 8, 2);
    await writeImage(path.join(dir, 'b', '0.png'), 8, 8, 3);
    const good = await writeImage(path.join(dir, 'b', '3.png'), 8, 8, 4);
    fs.writeFileSync(path.join(dir, 'a', '2.jpg'), fs.readFileSync(path.join(dir, 'a', '0.jpg')).subarray(0, 200)); // truncated
    fs.writeFileSync(path.join(dir, 'b', '1.png'), '<html>not found</html>');
    fs.writeFileSync(path.join(dir, 'b', '2.png'), '');
    await expect(loadImageFolder(dir, { cacheDir: false })).rejects.toThrow(
      /corrupt\/(a\/2\.jpg|b\/1\.png|b\/2\.png): cannot decode image: .+\(pass skipCorrupt, or --skip-corrupt, to skip and list such images\)/,
    );
    const set = openImageFolder(dir);
    await expect(decodeRgb(await set.read(2), set.source(2))).rejects.toThrow(
      new RegExp(`^${set.source(2)}: cannot decode image: .*(premature end|truncated)`, 'i'),
    );
    await expect(decodeRgb(await set.read(4), set.source(4))).rejects.toThrow(
      /b\/1\.png: cannot decode image: Input buffer contains unsupported image format/,
    );
    await expect(decodeRgb(await set.read(5), set.source(5))).rejects.toThrow(
      /b\/2\.png: cannot decode image: the file is empty/,
    );

    const skipping = await loadImageFolder(dir, { skipCorrupt: true, cacheDir: false });
    expect(skipping.skipped.map((s) => path.relative(dir, s.source))).toEqual(['a/2.jpg', 'b/1.png', 'b/2.png']);
    expect(skipping.skipped[0].error).toMatch(/a\/2\.jpg: cannot decode image/);
    expect(skipping.images.shape).toEqual([4, 3, 8, 8]);
    expect(values(skipping.labels)).toEqual([0, 0, 1, 1]);
    expect(values(skipping.images.index(3))).toEqual(chw(good, 8, 8)); // later images moved up in order
    dispose(skipping);
  });

  test('images of different sizes: the tensor set refuses (naming the file), the encoded set decodes them', async () => {
    const dir = path.join(tmp, 'sizes');
    await writeImage(path.join(dir, 'a', '0.png'), 8, 6, 1);
    await writeImage(path.join(dir, 'b', '0.png'), 5, 9, 2);
    const error = await loadImageFolder(dir, { cacheDir: false }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ImageSizeError);
    expect((error as Error).message).toMatch(
      /sizes\/(a|b)\/0\.png is (8×6|5×9) but .*sizes\/(a|b)\/0\.png is (8×6|5×9); a tensor set needs one image size: use openImageFolder/,
    );
    const set = openImageFolder(dir);
    const decoded = await Promise.all([0, 1].map(async (i) => decodeRgb(await set.read(i), set.source(i))));
    expect(decoded.map((d) => [d.width, d.height])).toEqual([
      [8, 6],
      [5, 9],
    ]);
  });

  test('bad layouts give clear errors', async () => {
    const make = (...files: string[]) => {
      const dir = fs.mkdtempSync(path.join(tmp, 'bad-'));
      for (const f of files) {
        fs.mkdirSync(f.endsWith('/') ? path.join(dir, f) : path.dirname(path.join(dir, f)), { recursive: true });
        if (!f.endsWith('/')) fs.copyFileSync(path.join(ds, 'test', 'bird', '1.png'), path.join(dir, f));
      }
      return dir;
    };
    expect(() => scanImageFolder(path.join(tmp, 'nope'))).toThrow(/ImageFolder: .*nope does not exist/);
    const empty = make('train/cat/0.png', 'train/dog/');
    expect(() => scanImageFolder(empty).split('train')).toThrow(
      /class folder .*train\/dog holds no \.jpg\/\.jpeg\/\.png images/,
    );
    await expect(loadImageFolder(empty, { split: 'train', cacheDir: false })).rejects.toThrow(/train\/dog holds no/);
    const flat = make('0.png', '1.png');
    expect(() => scanImageFolder(flat)).toThrow(
      /has no class folders \(expected PATH\/<class>\/<image> or PATH\/<split>\/<class>\/<image>\)/,
    );
    expect(() => scanImageFolder(make('train/cat/x/y/0.png', 'test/cat/0.png'))).toThrow(
      /train\/cat\/x is nested too deep/,
    );
    // ImageNet's val as shipped (flat files next to train/<class>/): train opens, val says why not
    const imagenetLike = make('train/n01/0.png', 'val/0.png');
    expect(scanImageFolder(imagenetLike).split('train').files).toEqual(['train/n01/0.png']);
    expect(() => scanImageFolder(imagenetLike).split('val')).toThrow(/split folder .*val has no class folders/);
    const text = path.join(tmp, 'notes.txt');
    fs.writeFileSync(text, 'hello');
    expect(() => scanImageFolder(text)).toThrow(/notes\.txt is neither a folder, a \.tar nor a \.tar\.gz/);
    const gz = path.join(tmp, 'cut.tar.gz');
    await tar.c({ cwd: tmp, file: gz, gzip: true }, ['ds']);
    fs.truncateSync(gz, Math.floor(fs.statSync(gz).size / 2));
    expect(() => scanImageFolder(gz)).toThrow(/cut\.tar\.gz is not a readable \.tar\.gz/);
    const plain = path.join(tmp, 'cut.tar');
    await tar.c({ cwd: tmp, file: plain }, ['ds']);
    fs.truncateSync(plain, 3000);
    expect(() => scanImageFolder(plain)).toThrow(/cut\.tar is truncated/);
  });
});

describe('cache', () => {
  test('miss, then hit (same tensors); stale when the source changes; corrupt files are rebuilt', async () => {
    const dir = path.join(tmp, 'cached');
    fs.cpSync(ds, dir, { recursive: true });
    const cacheDir = path.join(tmp, 'cache');
    const load = () => loadImageFolder(dir, { split: 'train', cacheDir, device });
    const first = await load();
    expect(first.cache.status).toBe('miss');
    const file = first.cache.file!;
    expect(path.dirname(file)).toBe(cacheDir);
    expect(file).toBe(cacheFile({ dir: cacheDir, source: dir, split: 'train', fingerprint: '' }));
    const hit = await load();
    expect(hit.cache.status).toBe('hit');
    expect(hit.images.equal(first.images)).toBe(true);
    expect(hit.labels.equal(first.labels)).toBe(true);
    expect(hit.classes).toEqual(first.classes);
    expect(hit.images.device).toBe(first.images.device);

    // a changed image (new content, size and mtime): stale, rebuilt with the new pixels
    const changed = await writeImage(path.join(dir, 'train', 'cat', 'a.png'), 8, 6, 99);
    const stale = await load();
    expect([stale.cache.status, stale.cache.reason]).toEqual([
      'stale',
      'the source changed since the cache was written',
    ]);
    expect(values(stale.images.index(2))).toEqual(chw(changed, 8, 6));
    // an added image: stale too
    await writeImage(path.join(dir, 'train', 'dog', 'c.png'), 8, 6, 100);
    const added = await load();
    expect(added.cache.status).toBe('stale');
    expect(added.images.shape[0]).toBe(7);
    expect((await load()).cache.status).toBe('hit');

    // one flipped byte in the pixels: the checksum catches it
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 7 * 8 - 10] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const flipped = await load();
    expect([flipped.cache.status, flipped.cache.reason]).toEqual(['corrupt', 'checksum mismatch']);
    expect(flipped.images.equal(added.images)).toBe(true);
    // truncated, or not a safetensors file at all
    fs.truncateSync(file, 1000);
    expect((await load()).cache).toMatchObject({
      status: 'corrupt',
      reason: expect.stringMatching(/not a valid safetensors file/),
    });
    fs.writeFileSync(file, 'garbage');
    expect((await load()).cache.status).toBe('corrupt');
    const again = await load();
    expect(again.cache.status).toBe('hit');
    expect(again.images.equal(added.images)).toBe(true);
    for (const s of [first, hit, stale, added, flipped, again]) dispose(s);
  });

  test('an archive is keyed by its size and mtime; a cache that cannot be written is a warning', async () => {
    const archive = path.join(tmp, 'cached.tar');
    await tar.c({ cwd: tmp, file: archive }, ['ds']);
    const cacheDir = path.join(tmp, 'cache-archive');
    const a = await loadImageFolder(archive, { split: 'test', cacheDir });
    const b = await loadImageFolder(archive, { split: 'test', cacheDir });
    fs.utimesSync(archive, new Date(), new Date(Date.now() + 5000));
    const c = await loadImageFolder(archive, { split: 'test', cacheDir });
    expect([a.cache.status, b.cache.status, c.cache.status]).toEqual(['miss', 'hit', 'stale']);

    const blocked = path.join(tmp, 'a-file');
    fs.writeFileSync(blocked, '');
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const d = await loadImageFolder(archive, { split: 'test', cacheDir: path.join(blocked, 'cache') });
    expect(d.cache).toMatchObject({
      status: 'miss',
      reason: expect.stringMatching(/^could not write the cache: ENOTDIR/),
    });
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringMatching(/cached\.tar-test-.*\.safetensors: could not write the cache: ENOTDIR/),
    ]);
    warn.mockRestore();
    expect(d.images.equal(a.images)).toBe(true);
    for (const s of [a, b, c, d]) dispose(s);
  });

  test('a set cached with skipCorrupt is refused to a caller without it', async () => {
    const dir = path.join(tmp, 'cached-corrupt');
    fs.cpSync(path.join(ds, 'test'), dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'cat', '2.png'), 'broken');
    const cacheDir = path.join(tmp, 'cache-corrupt');
    const skipping = await loadImageFolder(dir, { cacheDir, skipCorrupt: true });
    const again = await loadImageFolder(dir, { cacheDir, skipCorrupt: true });
    expect([skipping.cache.status, again.cache.status]).toEqual(['miss', 'hit']);
    expect(again.skipped).toEqual(skipping.skipped);
    expect(again.skipped.map((s) => path.basename(s.source))).toEqual(['2.png']);
    await expect(loadImageFolder(dir, { cacheDir })).rejects.toThrow(
      /cat\/2\.png: cannot decode image: .*pass skipCorrupt/,
    );
    dispose(skipping);
    dispose(again);
  });
});

describe('subsets', () => {
  // 3 classes of 10, 4 and 7 images, interleaved; pixel value = image index (to see which were taken)
  const labels = [0, 1, 2, 0, 2, 0, 1, 0, 2, 0, 0, 2, 1, 0, 2, 0, 2, 0, 1, 2, 0];
  const tensorSet = (): TensorImageSet & { coarseLabels: u.Tensor } => ({
    kind: 'tensor',
    format: 'synthetic',
    split: 'train',
    images: u
      .arange(21, undefined, 1, { dtype: 'uint8', device })
      .reshape(21, 1, 1, 1)
      .expand(21, 3, 2, 2)
      .contiguous(),
    labels: u.tensor(BigInt64Array.from(labels, BigInt), { device }),
    coarseLabels: u.tensor(
      BigInt64Array.from(labels, (l) => BigInt(l % 2)),
      { device },
    ),
    classes: ['a', 'b', 'c'],
  });
  const count = (ls: number[], c: number) => ls.filter((l) => l === c).length;

  test('perClass and fraction per class, deterministic, seeded', () => {
    expect([0, 1, 2].map((c) => count(labels, c))).toEqual([10, 4, 7]);
    const a = subsetIndices(labels, 3, { perClass: 3, seed: 1 });
    expect(
      [0, 1, 2].map((c) =>
        count(
          Array.from(a, (i) => labels[i]),
          c,
        ),
      ),
    ).toEqual([3, 3, 3]);
    expect(Array.from(a)).toEqual([...a].sort((x, y) => x - y));
    expect(Array.from(subsetIndices(labels, 3, { perClass: 3, seed: 1 }))).toEqual(Array.from(a));
    const seeds = new Set(
      [1, 2, 3, 4, 5].map((seed) => Array.from(subsetIndices(labels, 3, { perClass: 3, seed })).join()),
    );
    expect(seeds.size).toBeGreaterThan(3);
    // a class's choice depends on the seed and its own images only: drop three images of class 0,
    // and class 2 still takes the same of its images
    const fewer = labels.filter((l, i) => !(l === 0 && i > 12));
    const ranksIn2 = (ls: number[]) => {
      const members = ls.flatMap((l, i) => (l === 2 ? [i] : []));
      return Array.from(subsetIndices(ls, 3, { perClass: 3, seed: 7 })).flatMap((i) =>
        ls[i] === 2 ? [members.indexOf(i)] : [],
      );
    };
    expect(fewer.length).toBe(17);
    expect(ranksIn2(fewer)).toEqual(ranksIn2(labels));
    // fraction: rounded per class, at least one image each
    const f = subsetIndices(labels, 3, { fraction: 0.1 });
    expect(
      [0, 1, 2].map((c) =>
        count(
          Array.from(f, (i) => labels[i]),
          c,
        ),
      ),
    ).toEqual([1, 1, 1]);
    const half = subsetIndices(labels, 3, { fraction: 0.5 });
    expect(
      [0, 1, 2].map((c) =>
        count(
          Array.from(half, (i) => labels[i]),
          c,
        ),
      ),
    ).toEqual([5, 2, 4]);
    expect(subsetIndices(labels, 3, { fraction: 1 }).length).toBe(21);
  });

  test('bad options are clear errors', () => {
    expect(() => subsetIndices(labels, 3, { perClass: 5 })).toThrow(/class 1 has 4 images, fewer than perClass 5/);
    expect(() => subsetIndices(labels, 3, {})).toThrow(/exactly one of perClass and fraction/);
    expect(() => subsetIndices(labels, 3, { perClass: 1, fraction: 0.5 })).toThrow(
      /exactly one of perClass and fraction/,
    );
    expect(() => subsetIndices(labels, 3, { fraction: 1.5 })).toThrow(/fraction must be in \(0, 1\]/);
    expect(() => subsetIndices(labels, 3, { perClass: 0 })).toThrow(/perClass must be a positive integer/);
    expect(() => subsetIndices([0, 5], 3, { perClass: 1 })).toThrow(/image 1 has label 5, outside \[0, 3\)/);
  });

  test('tensor sets: index_select of images, labels and other per-image tensors', () => {
    const set = tensorSet();
    const sub = subsetImageSet(set, { perClass: 2, seed: 3 });
    const idx = Array.from(sub.indices);
    expect(sub.kind).toBe('tensor');
    expect(sub.classes).toEqual(set.classes);
    expect(sub.images.shape).toEqual([6, 3, 2, 2]);
    expect(values(sub.images.select(1, 0).select(1, 0).select(1, 0))).toEqual(idx);
    expect(values(sub.labels)).toEqual(idx.map((i) => labels[i]));
    expect(values(sub.coarseLabels)).toEqual(idx.map((i) => labels[i] % 2));
    expect(Array.from(subsetImageSet(set, { perClass: 2, seed: 3 }).indices)).toEqual(idx);
    for (const t of [set.images, set.labels, set.coarseLabels, sub.images, sub.labels, sub.coarseLabels]) t.dispose();
  });

  test('encoded sets: a re-indexed view; decoding it gives the same images as subsetting the tensor set', async () => {
    const set = openImageFolder(ds, { split: 'train' });
    const sub = subsetImageSet(set, { perClass: 1, seed: 5 });
    expect(sub.length).toBe(3);
    expect(Array.from(sub.labels)).toEqual([0, 1, 2]);
    const idx = Array.from(sub.indices);
    expect([0, 1, 2].map((i) => sub.source(i))).toEqual(idx.map((i) => set.source(i)));
    expect((await sub.read(1)).equals(await set.read(idx[1]))).toBe(true);
    expect(() => sub.source(3)).toThrow(/out of range/);
    const full = await decodeImageSet(set);
    const viaTensor = subsetImageSet(full, { perClass: 1, seed: 5 });
    const viaView = await decodeImageSet(sub as EncodedImageSet);
    expect(viaView.images.equal(viaTensor.images)).toBe(true);
    for (const s of [full, viaTensor, viaView]) dispose(s);
  });
});

const withCifar = fs.existsSync(cifarArchive) && hasPil ? describe : describe.skip;
withCifar(
  `the real CIFAR-10 JPEGs${fs.existsSync(cifarArchive) ? (hasPil ? '' : ` (skipped: ${python} has no PIL/numpy)`) : ` (skipped: ${cifarArchive} is absent)`}`,
  () => {
    const classes = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']; // shared/data/README.md
    const ref = path.join(tmp, 'pil');
    const cacheDir = path.join(tmp, 'cifar-cache');
    const loaded: Record<string, u.Tensor[]> = {};
    const seconds: Record<string, number> = {};
    let reference: Record<
      string,
      { classes: string[]; perClass: number[]; images: number; mean: number[]; std: number[] }
    >;
    beforeAll(() => {
      fs.mkdirSync(ref);
      execFileSync(python, [path.join(__dirname, 'fixtures', 'make_decode_fixtures.py'), 'cifar', cifarArchive, ref], {
        stdio: 'pipe',
      });
      reference = JSON.parse(fs.readFileSync(path.join(ref, 'cifar.json'), 'utf8'));
    }, 120000);
    afterAll(() =>
      Object.values(loaded)
        .flat()
        .forEach((t) => t.dispose()),
    );

    test('50,000 train and 10,000 test images decoded once, labels per class, pixels within 1 of PIL', async () => {
      let t = Date.now();
      const folder = scanImageFolder(cifarArchive);
      seconds.scan = (Date.now() - t) / 1000;
      expect(folder.splits).toEqual(['test', 'train']);
      for (const [split, n] of [
        ['train', 5000],
        ['test', 1000],
      ] as const) {
        t = Date.now();
        const set = await loadImageFolder(folder, { split, cacheDir });
        seconds[split] = (Date.now() - t) / 1000;
        loaded[split] = [set.images, set.labels];
        expect(set.cache.status).toBe('miss');
        expect(set.classes).toEqual(classes);
        expect(set.images.shape).toEqual([10 * n, 3, 32, 32]);
        // ImageFolder order: class blocks of n images, labels 0..9
        expect(values(set.labels)).toEqual(Array.from({ length: 10 * n }, (_, i) => Math.floor(i / n)));
        expect(reference[split].classes).toEqual(classes);
        expect(reference[split].perClass).toEqual(Array(10).fill(n));
        // PIL's HWC bytes against our [N,3,H,W], compared on the device in chunks
        const theirs = fs.readFileSync(path.join(ref, `${split}.rgb`));
        expect(theirs.length).toBe(set.images.numel());
        let maxDiff = 0;
        let differ = 0;
        for (let s = 0; s < 10 * n; s += 5000) {
          u.scope(() => {
            const pil = u
              .tensor(theirs.subarray(s * 3072, (s + 5000) * 3072), { shape: [5000, 32, 32, 3], device })
              .permute(0, 3, 1, 2);
            const d = set.images.narrow(0, s, 5000).to('int16').sub(pil.to('int16')).abs();
            maxDiff = Math.max(maxDiff, d.max().item() as number);
            differ += d.ne(0).sum().item();
          });
        }
        console.log(
          `CIFAR-10 ${split}: ${10 * n} images decoded in ${seconds[split].toFixed(1)} s (archive scan ${seconds.scan.toFixed(1)} s); ${differ} of ${set.images.numel()} values differ from PIL, by at most ${maxDiff}`,
        );
        expect(maxDiff).toBeLessThanOrEqual(1);
      }
    });

    test('the second load reads the cache: same tensors, much faster', async () => {
      for (const split of ['train', 'test']) {
        const t = Date.now();
        const set = await loadImageFolder(cifarArchive, { split, cacheDir });
        const s = (Date.now() - t) / 1000;
        console.log(
          `CIFAR-10 ${split} from the cache: ${s.toFixed(2)} s (decoding took ${seconds[split].toFixed(1)} s)`,
        );
        expect(set.cache.status).toBe('hit');
        expect(set.images.equal(loaded[split][0])).toBe(true);
        expect(set.labels.equal(loaded[split][1])).toBe(true);
        if (split === 'train') expect(s).toBeLessThan(seconds[split] / 3);
        dispose(set);
      }
    });

    test('unmix dataset --json (reading that cache): counts, classes, size, mean and std as numpy computes them', () => {
      const t = Date.now();
      const out = execFileSync(
        process.execPath,
        ['--import', 'tsx', path.join(root, 'lib', 'cli', 'unmix.ts'), 'dataset', cifarArchive, '--json'],
        {
          cwd: root,
          encoding: 'utf8',
          env: { ...process.env, UNMIX_CACHE_DIR: cacheDir },
        },
      );
      console.log(`unmix dataset on the cached CIFAR-10: ${((Date.now() - t) / 1000).toFixed(1)} s\n${out}`);
      const d = JSON.parse(out);
      expect(Object.keys(d)).toEqual(['format', 'splits', 'classes', 'size']);
      expect(d.format).toBe('image-folder');
      expect(d.classes).toEqual(classes);
      expect(d.size).toEqual([32, 32]);
      expect(Object.keys(d.splits)).toEqual(['train', 'test']);
      for (const split of ['train', 'test']) {
        const s = d.splits[split];
        expect(Object.keys(s)).toEqual(['images', 'classes', 'mean', 'std']);
        expect([s.images, s.classes]).toEqual([reference[split].images, 10]);
        for (let c = 0; c < 3; c++) {
          expect(Math.abs(s.mean[c] - reference[split].mean[c])).toBeLessThan(1e-4);
          expect(Math.abs(s.std[c] - reference[split].std[c])).toBeLessThan(1e-4);
        }
      }
      // the well-known CIFAR-10 constants, up to the JPEG re-encoding of this copy
      expect(d.splits.train.mean.map((m: number) => m.toFixed(2))).toEqual(['0.49', '0.48', '0.45']);
    });
  },
);
