// Loaders: seeded shuffling, drop_last, views, epoch length, resume at any batch, evaluation order,
// and batches freed without leaks.
import * as u from '../lib';
import { TensorImageSet } from '../lib/data/dataset';
import { Loader } from '../lib/data/loader';
import { evalCifar, mocoCifar, swavImagenet } from '../lib/data/presets';
import { device } from './helpers';

/** Image i is filled with the value i % 256 and labelled i % 10, so batches can be traced back. */
function tracedSet(n: number, size = 8): TensorImageSet {
  const images = u.arange(0, n, 1, { dtype: 'int64' }).remainder(256).to('uint8').view(n, 1, 1, 1).expand(n, 3, size, size).contiguous().to(device);
  const labels = u.arange(0, n, 1, { dtype: 'int64' }).remainder(10).to(device);
  return { kind: 'tensor', format: 'synthetic', split: 'train', images, labels, classes: Array.from({ length: 10 }, (_, i) => `c${i}`) };
}

async function collect(loader: Loader, epoch: number, startBatch = 0) {
  const out: { indices: number[]; labels: number[]; first: number[]; views: number }[] = [];
  for await (const b of loader.epoch(epoch, { startBatch })) {
    out.push({
      indices: [...b.indices],
      labels: Array.from(b.labels.to('cpu').data() as BigInt64Array, Number),
      first: Array.from(b.views[0].to('cpu').data() as Float32Array).slice(0, 4),
      views: b.views.length,
    });
    b.dispose();
  }
  return out;
}

test('training loader: shuffled, drop_last, two views, labels follow the images', async () => {
  const set = tracedSet(100);
  const loader = new Loader(set, { batchSize: 32, views: mocoCifar({ size: 8 }), seed: 1 });
  expect(loader.length).toBe(3);
  const batches = await collect(loader, 0);
  expect(batches.length).toBe(3);
  const seen = batches.flatMap((b) => b.indices);
  expect(new Set(seen).size).toBe(96);
  expect(seen).not.toEqual([...seen].sort((a, b) => a - b));
  for (const b of batches) {
    expect(b.views).toBe(2);
    expect(b.labels).toEqual(b.indices.map((i) => i % 10));
  }
  // another epoch: another order; the same epoch again: the same batches, augmentations included
  expect((await collect(loader, 1)).flatMap((b) => b.indices)).not.toEqual(seen);
  expect(await collect(loader, 0)).toEqual(batches);
});

test('resuming at batch k gives the batches the uninterrupted epoch gave', async () => {
  const loader = new Loader(tracedSet(64), { batchSize: 16, views: mocoCifar({ size: 8 }), seed: 9 });
  const full = await collect(loader, 3);
  expect(await collect(loader, 3, 2)).toEqual(full.slice(2));
});

test('evaluation loader: every image once, in order, no augmentation, last partial batch kept', async () => {
  const set = tracedSet(70);
  const loader = new Loader(set, { batchSize: 32, pipeline: [] });
  expect(loader.length).toBe(3);
  const batches = await collect(loader, 0);
  expect(batches.map((b) => b.indices.length)).toEqual([32, 32, 6]);
  expect(batches.flatMap((b) => b.indices)).toEqual(Array.from({ length: 70 }, (_, i) => i));
  expect(batches[1].first).toEqual(new Array(4).fill(32 / 255).map((v) => Math.fround(v)));
  const normalized = new Loader(set, { batchSize: 8, pipeline: evalCifar() });
  const first = await collect(normalized, 0);
  expect(first[0].first[0]).toBeCloseTo((0 - 0.4914) / 0.2023, 5);
});

test('multi-crop views come out in order with their sizes', async () => {
  const set = tracedSet(4, 120);
  const loader = new Loader(set, { batchSize: 2, views: swavImagenet({ largeCrops: 2, smallCrops: 3 }) });
  const it = loader.epoch(0);
  const b = (await it.next()).value!;
  expect(b.views.map((v: u.Tensor) => v.shape[2])).toEqual([224, 224, 96, 96, 96]);
  b.dispose();
  await it.return(undefined);
});

test('bad options are refused clearly', () => {
  const set = tracedSet(10);
  expect(() => new Loader(set, { batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
  expect(() => new Loader(set, { batchSize: 16, views: mocoCifar() })).toThrow(/cannot fill one batch of 16/);
  expect(() => new Loader(set, { batchSize: 2, views: mocoCifar(), pipeline: [] })).toThrow(/either views/);
  expect(() => new Loader(set, { batchSize: 2, views: [{ count: 1, pipeline: [{ op: 'grayscale', p: 3 }] }] })).toThrow(/p must be in/);
});

test('no tensors are left behind after many batches', async () => {
  const set = tracedSet(64);
  const loader = new Loader(set, { batchSize: 16, views: mocoCifar({ size: 8 }), seed: 2 });
  await collect(loader, 0);
  const before = u.liveTensors();
  for (let e = 1; e < 6; e++) await collect(loader, e);
  const after = u.liveTensors();
  expect(after.count).toBe(before.count);
  expect(after.bytes).toBe(before.bytes);
});
