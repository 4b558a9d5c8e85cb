// Loaders: seeded shuffling, drop_last, views, epoch length, resume at any batch, evaluation order,
// and batches freed without leaks.
import * as u from '../lib';
import { TensorImageSet } from '../lib/data/dataset';
import { Loader } from '../lib/data/loader';
import { evalCifar, mocoCifar, swavImagenet } from '../lib/data/presets';
import { device, settle } from './helpers';

/** Image i is filled with the value i % 256 and labelled i % 10, so batches can be traced back. */
function tracedSet(n: number, size = 8): TensorImageSet {
  const images = u
    .arange(0, n, 1, { dtype: 'int64' })
    .remainder(256)
    .to('uint8')
    .view(n, 1, 1, 1)
    .expand(n, 3, size, size)
    .contiguous()
    .to(device);
  const labels = u.arange(0, n, 1, { dtype: 'int64' }).remainder(10).to(device);
  return {
    kind: 'tensor',
    format: 'synthetic',
    split: 'train',
    images,
    labels,
    classes: Array.from({ length: 10 }, (_, i) => `c${i}`),
  };
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
  expect(() => new Loader(set, { batchSize: 2, views: [{ count: 1, pipeline: [{ op: 'grayscale', p: 3 }] }] })).toThrow(
    /p must be in/,
  );
});

test('no tensors are left behind after many batches', async () => {
  const set = tracedSet(64);
  const loader = new Loader(set, { batchSize: 16, views: mocoCifar({ size: 8 }), seed: 2 });
  await collect(loader, 0);
  await settle();
  const before = u.liveTensors();
  for (let e = 1; e < 6; e++) await collect(loader, e);
  await settle();
  const after = u.liveTensors();
  expect(after.count).toBe(before.count);
  expect(after.bytes).toBe(before.bytes);
});

test('encoded image folders (any image size): crops, resize + centre crop, flips and colour per batch', async () => {
  const fs = await import('fs');
  const os = await import('os');
  const path = await import('path');
  const sharp = (await import('sharp')).default;
  const { openImageFolder } = await import('../lib/data/image-folder');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-enc-'));
  const sizes = [
    [40, 60],
    [75, 50],
    [64, 64],
    [33, 90],
  ];
  for (const [k, [h, w]] of sizes.entries()) {
    const dir = path.join(root, 'train', `class${k % 2}`);
    fs.mkdirSync(dir, { recursive: true });
    const pixels = Buffer.alloc(h * w * 3, 40 * k + 20);
    await sharp(pixels, { raw: { width: w, height: h, channels: 3 } })
      .png()
      .toFile(path.join(dir, `${k}.png`));
  }
  const set = openImageFolder(root, { split: 'train' });
  expect(set.kind).toBe('encoded');
  const train = new Loader(set, {
    batchSize: 2,
    views: [
      {
        count: 2,
        pipeline: [
          { op: 'randomResizedCrop', size: 24 },
          { op: 'horizontalFlip', p: 0.5 },
          { op: 'grayscale', p: 0.5 },
        ],
      },
    ],
    seed: 1,
    device,
  });
  let batches = 0;
  for await (const b of train.epoch(0)) {
    expect(b.views.map((v: u.Tensor) => v.shape)).toEqual([
      [2, 3, 24, 24],
      [2, 3, 24, 24],
    ]);
    expect(b.views[0].device).toBe(device === 'cpu' ? 'cpu' : b.views[0].device);
    // flat-colour images stay flat: every pixel of a view equals its first pixel
    const v = b.views[0];
    expect(
      v
        .sub(v.narrow(2, 0, 1).narrow(3, 0, 1))
        .abs()
        .max()
        .item(),
    ).toBeLessThan(1e-6);
    b.dispose();
    batches++;
  }
  expect(batches).toBe(2);
  const evaluation = new Loader(set, {
    batchSize: 4,
    pipeline: [
      { op: 'resize', size: 36 },
      { op: 'centerCrop', size: 32 },
    ],
  });
  for await (const b of evaluation.labelled()) {
    expect(b.images.shape).toEqual([4, 3, 32, 32]);
    expect(Array.from(b.labels.data() as BigInt64Array, Number)).toEqual([0, 0, 1, 1]);
    // sample 0 is class0/0.png, filled with 20
    expect(b.images.select(0, 0).mean().item()).toBeCloseTo(20 / 255, 5);
  }
  const unsized = new Loader(set, { batchSize: 4, pipeline: [] });
  await expect(unsized.epoch(0).next()).rejects.toThrow(/after the pipeline's geometry.*add a crop/);
});
