// openDataset(folder, {skipCorrupt: true}) on a folder of mixed image sizes (kept encoded, decoded per
// batch): the broken image is left out and listed, the Loader never meets it, and the verdict is cached.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import type { ImageSet } from '../lib/data/dataset';
import { Loader } from '../lib/data/loader';
import { openDataset } from '../lib/data/open';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-skip-corrupt-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function png(file: string, width: number, height: number, value: number): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(Buffer.alloc(width * height * 3, value), { raw: { width, height, channels: 3 } })
    .png()
    .toFile(file);
}

async function mixedFolder(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(tmp, 'mixed-'));
  const sizes = [12, 16, 20, 24];
  for (const [c, cls] of ['cat', 'dog'].entries()) {
    for (let i = 0; i < 4; i++)
      await png(path.join(dir, 'train', cls, `${i}.png`), sizes[i], sizes[(i + c) % 4], 40 * i + c);
  }
  const good = fs.readFileSync(path.join(dir, 'train', 'cat', '0.png'));
  fs.writeFileSync(path.join(dir, 'train', 'dog', '2.png'), good.subarray(0, 40)); // truncated: the header reads, the pixels do not
  return dir;
}

const loaderOf = (set: ImageSet) =>
  new Loader(set, {
    batchSize: 3,
    views: [
      {
        count: 1,
        pipeline: [
          { op: 'resize', size: 10 },
          { op: 'centerCrop', size: 10 },
        ],
      },
    ],
    dropLast: false,
    seed: 0,
  });

async function allBatches(loader: Loader): Promise<number> {
  let images = 0;
  for await (const batch of loader.epoch(0)) {
    images += batch.indices.length;
    batch.dispose();
  }
  return images;
}

test('without skipCorrupt the mixed-size folder opens encoded and the Loader stops at the broken image, naming it', async () => {
  const dir = await mixedFolder();
  const set = await openDataset(dir, { split: 'train', cacheDir: false });
  expect(set.kind).toBe('encoded');
  await expect(allBatches(loaderOf(set))).rejects.toThrow(/dog\/2\.png: cannot decode image/);
});

test('skipCorrupt leaves the broken image out of a mixed-size folder and lists it; the Loader reads every batch', async () => {
  const dir = await mixedFolder();
  const cacheDir = path.join(tmp, 'cache');
  const set = await openDataset(dir, { split: 'train', skipCorrupt: true, cacheDir });
  expect(set.kind).toBe('encoded');
  if (set.kind !== 'encoded') return;
  expect(set.length).toBe(7);
  expect(set.skipped!.map((s) => path.relative(dir, s.source))).toEqual([path.join('train', 'dog', '2.png')]);
  expect(set.skipped![0].error).toMatch(/dog\/2\.png: cannot decode image/);
  expect(Array.from(set.labels)).toEqual([0, 0, 0, 0, 1, 1, 1]);
  expect(path.basename(set.source(6))).toBe('3.png'); // later images move up, in order
  expect(await allBatches(loaderOf(set))).toBe(7);

  // the verdict is cached: a second open decodes nothing and says the same
  const verdicts = fs.readdirSync(cacheDir).filter((f) => f.endsWith('.json'));
  expect(verdicts).toHaveLength(1);
  const again = await openDataset(dir, { split: 'train', skipCorrupt: true, cacheDir });
  expect(again.skipped).toEqual(set.skipped);

  // a changed folder is checked again: the repaired image is back
  await png(path.join(dir, 'train', 'dog', '2.png'), 14, 14, 9);
  const repaired = await openDataset(dir, { split: 'train', skipCorrupt: true, cacheDir });
  expect(repaired.kind === 'encoded' && repaired.length).toBe(8);
  expect(repaired.skipped).toEqual([]);
});

test('skipCorrupt on a folder whose every image is broken says so', async () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'broken-'));
  await png(path.join(dir, 'train', 'a', '0.png'), 8, 8, 1);
  await png(path.join(dir, 'train', 'a', '1.png'), 9, 9, 1);
  for (const f of ['0.png', '1.png'])
    fs.writeFileSync(path.join(dir, 'train', 'a', f), fs.readFileSync(path.join(dir, 'train', 'a', f)).subarray(0, 40));
  await expect(openDataset(dir, { split: 'train', skipCorrupt: true, cacheDir: false })).rejects.toThrow(
    /none of the 2 images of split 'train' could be decoded/,
  );
});
