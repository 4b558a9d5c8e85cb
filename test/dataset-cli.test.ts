// `unmix dataset PATH [--json]`, run as a user runs it (a separate node process), on small datasets
// the test writes: CIFAR-10/100 binary layouts, image folders (folder and .tar), mixed sizes, bad input.
// (The real CIFAR-10 JPEGs go through the same command in test/image-folder.test.ts, on its cache.)
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import * as tar from 'tar';

const root = path.join(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-dataset-cli-'));
const cacheDir = path.join(tmp, 'cache');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(...args: string[]) {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'lib', 'cli', 'unmix.ts'), 'dataset', ...args],
    {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, UNMIX_CACHE_DIR: cacheDir },
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json(...args: string[]) {
  const r = run(...args, '--json');
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

/** Mean and population std per channel in [0, 1], straight from the definition. */
function stats(images: { pixel: (c: number) => number[] }[]) {
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < 3; c++) {
    const all = images.flatMap((im) => im.pixel(c)).map((v) => v / 255);
    const m = all.reduce((a, b) => a + b, 0) / all.length;
    mean.push(m);
    std.push(Math.sqrt(all.reduce((a, b) => a + (b - m) ** 2, 0) / all.length));
  }
  return { mean, std };
}

function expectClose(actual: number[], expected: number[]) {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i])).toBeLessThan(1e-12));
}

/** CIFAR records: label byte(s) then 3,072 pixel bytes (R plane, G plane, B plane). */
function cifarBatch(file: string, count: number, labelBytes: 1 | 2, seed: number) {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2147483648), s >> 8);
  const record = labelBytes + 3072;
  const buf = Buffer.alloc(count * record);
  for (let r = 0; r < count; r++) {
    if (labelBytes === 2) buf[r * record] = next() % 20;
    buf[r * record + labelBytes - 1] = next() % (labelBytes === 1 ? 10 : 100);
    for (let p = 0; p < 3072; p++) buf[r * record + labelBytes + p] = next() % 256;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, buf);
  return Array.from({ length: count }, (_, r) => ({
    pixel: (c: number) =>
      Array.from(buf.subarray(r * record + labelBytes + c * 1024, r * record + labelBytes + (c + 1) * 1024)),
  }));
}

test('CIFAR-10 binary folder: format, splits, classes, size, exact mean and std', () => {
  const dir = path.join(tmp, 'c10', 'cifar-10-batches-bin');
  const train = [1, 2, 3, 4, 5].flatMap((i) => cifarBatch(path.join(dir, `data_batch_${i}.bin`), 2, 1, i));
  const test = cifarBatch(path.join(dir, 'test_batch.bin'), 3, 1, 9);
  const d = json(path.join(tmp, 'c10'));
  expect(Object.keys(d)).toEqual(['format', 'splits', 'classes', 'size']);
  expect(d.format).toBe('cifar-10-binary');
  expect(d.classes).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
  expect(d.size).toEqual([32, 32]);
  expect(Object.keys(d.splits)).toEqual(['train', 'test']);
  expect(Object.keys(d.splits.train)).toEqual(['images', 'classes', 'mean', 'std']);
  expect([d.splits.train.images, d.splits.train.classes, d.splits.test.images]).toEqual([10, 10, 3]);
  const t = stats(train);
  expectClose(d.splits.train.mean, t.mean);
  expectClose(d.splits.train.std, t.std);
  expectClose(d.splits.test.mean, stats(test).mean);
  expectClose(d.splits.test.std, stats(test).std);
  // the folder itself works too; the text output is a short summary
  const text = run(dir);
  expect(text.status).toBe(0);
  expect(text.stdout).toMatch(
    /cifar-10-batches-bin: cifar-10-binary \(folder\), 10 classes, 32×32\n\s+train\s+10 images\s+10 classes\s+mean \[0\.\d{4}, 0\.\d{4}, 0\.\d{4}\]\s+std \[0\.\d{4}, 0\.\d{4}, 0\.\d{4}\]\n\s+test\s+3 images/,
  );
  expect(text.stdout).toMatch(/classes: airplane, automobile, bird/);
});

test('CIFAR-100 binary .tar.gz: 100 classes', async () => {
  const dir = path.join(tmp, 'c100');
  cifarBatch(path.join(dir, 'cifar-100-binary', 'train.bin'), 4, 2, 3);
  const test = cifarBatch(path.join(dir, 'cifar-100-binary', 'test.bin'), 2, 2, 4);
  fs.writeFileSync(
    path.join(dir, 'cifar-100-binary', 'fine_label_names.txt'),
    Array.from({ length: 100 }, (_, i) => `fine${i}`).join('\n'),
  );
  const archive = path.join(tmp, 'cifar-100-binary.tar.gz');
  await tar.c({ gzip: true, file: archive, cwd: dir }, ['cifar-100-binary']);
  const d = json(archive);
  expect(d.format).toBe('cifar-100-binary');
  expect(d.classes).toHaveLength(100);
  expect(d.classes[42]).toBe('fine42');
  expect([d.splits.train.images, d.splits.train.classes, d.splits.test.images]).toEqual([4, 100, 2]);
  expectClose(d.splits.test.mean, stats(test).mean);
});

describe('image folders', () => {
  const dir = path.join(tmp, 'folder');
  const written: Record<string, { pixel: (c: number) => number[] }[]> = { train: [], val: [] };
  beforeAll(async () => {
    let seed = 1;
    for (const split of ['val', 'train']) {
      for (const cls of ['zebra', 'ant']) {
        for (let k = 0; k < (split === 'train' ? 3 : 2); k++) {
          const px = Buffer.alloc(6 * 4 * 3);
          for (let i = 0; i < px.length; i++) px[i] = (i * 37 + seed * 101) % 256;
          seed++;
          const file = path.join(dir, split, cls, `${k}.png`);
          fs.mkdirSync(path.dirname(file), { recursive: true });
          await sharp(px, { raw: { width: 6, height: 4, channels: 3 } })
            .png()
            .toFile(file);
          written[split].push({ pixel: (c) => Array.from({ length: 24 }, (_, p) => px[p * 3 + c]) });
        }
      }
    }
    fs.writeFileSync(path.join(dir, 'LICENSE'), 'x');
  });

  test('--json: the exact shape, counts, size, exact mean and std; cached once', () => {
    const d = json(dir);
    expect(d).toEqual({
      format: 'image-folder',
      splits: {
        train: { images: 6, classes: 2, mean: expect.any(Array), std: expect.any(Array) },
        val: { images: 4, classes: 2, mean: expect.any(Array), std: expect.any(Array) },
      },
      classes: ['ant', 'zebra'],
      size: [4, 6],
    });
    for (const split of ['train', 'val']) {
      const s = stats(written[split]);
      expectClose(d.splits[split].mean, s.mean);
      expectClose(d.splits[split].std, s.std);
    }
    expect(
      fs
        .readdirSync(cacheDir)
        .filter((f) => f.startsWith('folder-'))
        .sort(),
    ).toEqual([
      expect.stringMatching(/^folder-train-[0-9a-f]{16}\.safetensors$/),
      expect.stringMatching(/^folder-val-/),
    ]);
    const text = run(dir);
    expect(text.stdout).toMatch(
      /folder: image-folder \(folder\), 2 classes, 4×6\n\s+train\s+6 images\s+2 classes .* cache: hit\n\s+val\s+4 images/,
    );
    expect(text.stdout).toMatch(
      /ignored: 1 files that are not \.jpg\/\.jpeg\/\.png images in class folders \(e\.g\. LICENSE\)/,
    );
  });

  test('a .tar of the folder describes the same; --no-cache writes nothing', async () => {
    const archive = path.join(tmp, 'folder.tar');
    await tar.c({ cwd: tmp, file: archive }, ['folder']);
    const before = fs.readdirSync(cacheDir).length;
    const d = json(archive, '--no-cache');
    expect(fs.readdirSync(cacheDir).length).toBe(before);
    expect(d).toEqual(json(dir));
    const elsewhere = path.join(tmp, 'other-cache');
    json(archive, '--cache-dir', elsewhere);
    expect(fs.readdirSync(elsewhere)).toHaveLength(2);
  });

  test('images of several sizes: size null, the range in the text output', async () => {
    const mixed = path.join(tmp, 'mixed');
    const sizes = [
      [3, 5],
      [7, 2],
      [4, 4],
    ];
    const images: { pixel: (c: number) => number[] }[] = [];
    for (const [i, [w, h]] of sizes.entries()) {
      const px = Buffer.alloc(w * h * 3, 0).map((_, k) => (k * 13 + i * 50) % 256);
      const file = path.join(mixed, `c${i % 2}`, `${i}.png`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      await sharp(px, { raw: { width: w, height: h, channels: 3 } })
        .png()
        .toFile(file);
      images.push({ pixel: (c) => Array.from({ length: w * h }, (_, p) => px[p * 3 + c]) });
    }
    const d = json(mixed);
    expect(d.size).toBeNull();
    expect(d.splits.mixed.images).toBe(3);
    const s = stats(images);
    expectClose(d.splits.mixed.mean, s.mean);
    expectClose(d.splits.mixed.std, s.std);
    expect(run(mixed).stdout).toMatch(
      /mixed: image-folder \(folder\), 2 classes, sizes from 2×7 to 4×4 \(h×w\)\n.*cache: off \(images of several sizes\)/,
    );
  });
});

test('bad input: exit 1 and one line saying why; --skip-corrupt skips and reports', async () => {
  const line = (r: ReturnType<typeof run>) => {
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    return r.stderr.trim().split('\n');
  };
  expect(line(run(path.join(tmp, 'missing')))).toEqual([
    `unmix: ImageFolder: ${path.join(tmp, 'missing')} does not exist`,
  ]);
  const empty = path.join(tmp, 'empty-class');
  fs.mkdirSync(path.join(empty, 'a'), { recursive: true });
  fs.mkdirSync(path.join(empty, 'b'), { recursive: true });
  fs.writeFileSync(path.join(empty, 'b', 'x.jpg'), 'not a jpeg');
  expect(line(run(empty))).toEqual([
    expect.stringMatching(/^unmix: ImageFolder: class folder .*empty-class\/a holds no \.jpg\/\.jpeg\/\.png images/),
  ]);
  fs.rmdirSync(path.join(empty, 'a'));
  expect(line(run(empty))).toEqual([
    expect.stringMatching(
      /^unmix: .*empty-class\/b\/x\.jpg: cannot decode image: Input buffer contains unsupported image format \(pass skipCorrupt, or --skip-corrupt,/,
    ),
  ]);
  // skip-and-report instead
  const png = path.join(empty, 'b', 'y.png');
  await sharp(Buffer.alloc(12, 7), { raw: { width: 2, height: 2, channels: 3 } })
    .png()
    .toFile(png);
  const skipped = run(empty, '--skip-corrupt', '--no-cache');
  expect(skipped.status).toBe(0);
  expect(skipped.stdout).toMatch(
    /empty-class\s+1 images\s+1 classes[^]*skipped: 1 images that could not be decoded: .*b\/x\.jpg: cannot decode image/,
  );
  const c10 = path.join(tmp, 'cut', 'cifar-10-batches-bin');
  cifarBatch(path.join(c10, 'test_batch.bin'), 1, 1, 1);
  fs.writeFileSync(path.join(c10, 'data_batch_1.bin'), Buffer.alloc(100));
  expect(line(run(c10))).toEqual([
    expect.stringMatching(/^unmix: CIFAR-10: data_batch_1\.bin has 100 bytes, not a whole number of 3073-byte records/),
  ]);
});
