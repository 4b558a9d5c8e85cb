// The memory budget of datasets (issue 13, item 2): a split whose decoded images would take more than
// the budget is refused as a tensor set before anything is decoded, and openDataset keeps it encoded
// (decoded per batch) instead; `memoryBudget` or $UNMIX_DATASET_BUDGET set it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import * as tar from 'tar';
import * as u from '../lib';
import { DatasetBudgetError, defaultMemoryBudget, memoryBudget } from '../lib/data/budget';
import { describeDataset } from '../lib/data/describe';
import { decodeImageSet } from '../lib/data/decode';
import { loadImageFolder, openImageFolder } from '../lib/data/image-folder';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-budget-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// train/{a,b}/{0,1}.png: four 8×8 images, 4 × 3 × 64 = 768 bytes decoded
const ds = path.join(tmp, 'ds');
beforeAll(async () => {
  for (const f of ['train/a/0.png', 'train/a/1.png', 'train/b/0.png', 'train/b/1.png']) {
    fs.mkdirSync(path.dirname(path.join(ds, f)), { recursive: true });
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 9, g: 99, b: 199 } } })
      .png()
      .toFile(path.join(ds, f));
  }
});

async function withEnv<T>(value: string | undefined, fn: () => T | Promise<T>): Promise<T> {
  const saved = process.env.UNMIX_DATASET_BUDGET;
  if (value === undefined) delete process.env.UNMIX_DATASET_BUDGET;
  else process.env.UNMIX_DATASET_BUDGET = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.UNMIX_DATASET_BUDGET;
    else process.env.UNMIX_DATASET_BUDGET = saved;
  }
}

test('the budget: the option, else UNMIX_DATASET_BUDGET, else a quarter of the memory (at most 4 GiB); bad values are errors', async () => {
  expect(defaultMemoryBudget()).toBe(Math.min(4 * 1024 ** 3, Math.floor(os.totalmem() / 4)));
  await withEnv(undefined, () => expect(memoryBudget(undefined, 'x')).toBe(defaultMemoryBudget()));
  await withEnv('1000', () => expect(memoryBudget(undefined, 'x')).toBe(1000));
  await withEnv('2G', () => expect(memoryBudget(undefined, 'x')).toBe(2 * 1024 ** 3));
  await withEnv('512MiB', () => expect(memoryBudget(undefined, 'x')).toBe(512 * 1024 ** 2));
  await withEnv('1000', () => expect(memoryBudget(5, 'x')).toBe(5));
  await withEnv('lots', () =>
    expect(() => memoryBudget(undefined, 'x')).toThrow(
      "UNMIX_DATASET_BUDGET must be a number of bytes (e.g. 4294967296 or 4G), got 'lots'",
    ),
  );
  expect(() => memoryBudget(-1, 'openDataset')).toThrow(
    'openDataset: memoryBudget must be a number of bytes >= 0, got -1',
  );
  expect(() => memoryBudget(NaN, 'openDataset')).toThrow(
    'openDataset: memoryBudget must be a number of bytes >= 0, got NaN',
  );
});

test('over the budget: loadImageFolder refuses before decoding, naming the split; openDataset keeps the split encoded', async () => {
  const refusal = `ImageFolder: split 'train' of ${ds}: 4 images of 8×8 take 768 bytes decoded, more than the memory budget of 700 bytes (memoryBudget, or UNMIX_DATASET_BUDGET, in bytes); use openDataset or openImageFolder (decoded per batch)`;
  const error = await loadImageFolder(ds, { split: 'train', cacheDir: false, memoryBudget: 700 }).catch(
    (e: Error) => e,
  );
  expect(error).toBeInstanceOf(DatasetBudgetError);
  expect((error as Error).message).toBe(refusal);
  // the exact check where the pixels are allocated, for callers of decodeImageSet
  await expect(decodeImageSet(openImageFolder(ds, { split: 'train' }), { memoryBudget: 700 })).rejects.toThrow(
    "ImageFolder: split 'train': 4 images of 8×8 take 768 bytes",
  );

  const encoded = await u.openDataset(ds, { split: 'train', cacheDir: false, memoryBudget: 700 });
  expect(encoded.kind).toBe('encoded');
  expect(u.imageCount(encoded)).toBe(4);
  const fromEnv = await withEnv('700', () => u.openDataset(ds, { split: 'train', cacheDir: false }));
  expect(fromEnv.kind).toBe('encoded');
  const fits = await u.openDataset(ds, { split: 'train', cacheDir: false, memoryBudget: 768 });
  expect(fits.kind).toBe('tensor');
  if (fits.kind === 'tensor') expect(fits.images.shape).toEqual([4, 3, 8, 8]);
});

test('a cached archive over the budget is not read from its cache; a .tar.gz over it is refused; unmix dataset streams a folder over it', async () => {
  const archive = path.join(tmp, 'ds.tar');
  tar.c({ file: archive, cwd: ds, sync: true }, ['train']);
  const cacheDir = path.join(tmp, 'cache');
  const cached = await loadImageFolder(archive, { split: 'train', cacheDir });
  expect(cached.cache.status).toBe('miss');
  expect((await loadImageFolder(archive, { split: 'train', cacheDir })).cache.status).toBe('hit');
  await expect(loadImageFolder(archive, { split: 'train', cacheDir, memoryBudget: 700 })).rejects.toThrow(
    `ImageFolder: split 'train' of ${archive}: 4 images of 8×8 take 768 bytes decoded`,
  );

  const gzipped = path.join(tmp, 'ds.tar.gz');
  tar.c({ file: gzipped, cwd: ds, sync: true, gzip: true }, ['train']);
  expect((await u.openDataset(gzipped, { split: 'train', cacheDir: false, memoryBudget: 1000 })).kind).toBe('tensor');
  await expect(u.openDataset(gzipped, { split: 'train', cacheDir: false, memoryBudget: 100 })).rejects.toThrow(
    `ImageFolder: ${gzipped}: a .tar.gz is held in memory, and its images take more than the memory budget of 100 bytes (memoryBudget, or UNMIX_DATASET_BUDGET, in bytes); extract it, or repack it as a plain .tar (read lazily)`,
  );
  await expect(loadImageFolder(gzipped, { split: 'train', cacheDir: false, memoryBudget: 100 })).rejects.toThrow(
    'a .tar.gz is held in memory',
  );

  const full = await describeDataset(ds, { cacheDir: false });
  const streamed = await withEnv('700', () => describeDataset(ds, { cacheDir: false }));
  expect(streamed.details.cache.train).toBe('off (over the memory budget)');
  expect(streamed.description).toEqual(full.description);
});
