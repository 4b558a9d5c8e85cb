// The synthetic dataset: deterministic, balanced, cheap to make, and with classes a small CNN learns
// while shortcuts (mean colour, nearest neighbour on raw pixels) do much worse.
import * as u from '../lib';
import { SYNTHETIC_CLASSES, syntheticDataset } from '../lib/data/synthetic';
import { Rng } from '../lib/rng';
import { TensorImageSet } from '../lib/data/dataset';
import { device } from './helpers';

const bytes = (t: u.Tensor) => {
  const a = t.cpu().data() as Uint8Array;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
};

test('shapes, dtypes, balanced classes, class names', () => {
  const set = syntheticDataset({ split: 'train', perClass: 30, device });
  expect(set).toMatchObject({ kind: 'tensor', format: 'synthetic', split: 'train', seed: 0 });
  expect(set.images.shape).toEqual([300, 3, 32, 32]);
  expect(set.images.dtype).toBe('uint8');
  expect(set.images.device).toBe(device);
  expect(set.labels.shape).toEqual([300]);
  expect(set.labels.dtype).toBe('int64');
  expect(set.labels.device).toBe(device);
  const counts = new Array(10).fill(0);
  for (const l of set.labels.toArray() as number[]) counts[Number(l)]++;
  expect(counts).toEqual(new Array(10).fill(30));
  // shuffled, not sorted by class
  expect((set.labels.toArray() as number[]).slice(0, 30).map(Number)).not.toEqual(new Array(30).fill(0));
  expect(set.classes).toEqual(SYNTHETIC_CLASSES.map((c) => c.name));
  expect(new Set(set.classes).size).toBe(10);
  // every colour family is shared by two classes, so colour alone never names the class
  const families = SYNTHETIC_CLASSES.map((c) => c.family);
  for (const f of new Set(families)) expect(families.filter((x) => x === f).length).toBe(2);
  const big = syntheticDataset({ split: 'test', size: 48, perClass: 2, device });
  expect(big.images.shape).toEqual([20, 3, 48, 48]);
  // pixels use the whole range, not a few flat colours
  const px = big.images.cpu().data() as Uint8Array;
  expect(new Set(px).size).toBeGreaterThan(200);
});

test('deterministic: same arguments give the same bytes; seeds and splits differ', () => {
  const a = syntheticDataset({ split: 'train', perClass: 20, seed: 3 });
  const b = syntheticDataset({ split: 'train', perClass: 20, seed: 3, device });
  expect(bytes(a.images).equals(bytes(b.images))).toBe(true);
  expect(a.labels.toArray()).toEqual(b.labels.toArray());
  const otherSeed = syntheticDataset({ split: 'train', perClass: 20, seed: 4 });
  expect(bytes(a.images).equals(bytes(otherSeed.images))).toBe(false);
  expect(a.labels.toArray()).not.toEqual(otherSeed.labels.toArray());
  const testSplit = syntheticDataset({ split: 'test', perClass: 20, seed: 3 });
  expect(bytes(a.images).equals(bytes(testSplit.images))).toBe(false);
  // no test image is a copy of a train image
  const trainImages = new Set(Array.from({ length: 200 }, (_, i) => bytes(a.images.index(i)).toString('base64')));
  for (let i = 0; i < 200; i++)
    expect(trainImages.has(bytes(testSplit.images.index(i)).toString('base64'))).toBe(false);
});

test('defaults: 5,000 per class for train, 1,000 for test, generated in a few seconds', () => {
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const train = syntheticDataset({ split: 'train' });
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(`synthetic: 50,000 train images of 32x32 in ${cpuMs.toFixed(0)} ms of CPU (${Date.now() - t0} ms wall)`);
  expect(train.images.shape).toEqual([50000, 3, 32, 32]);
  // CPU time, not wall time: other processes on a shared machine do not count. About 1.5 s here.
  // a guard against pathological slowness, not a benchmark: 1.5–6 s of CPU seen on this 2-core VM
  expect(cpuMs).toBeLessThan(20000);
  train.images.dispose();
  train.labels.dispose();
  const testSplit = syntheticDataset({ split: 'test' });
  expect(testSplit.images.shape).toEqual([10000, 3, 32, 32]);
  testSplit.images.dispose();
  testSplit.labels.dispose();
});

test('bad options give clear errors', () => {
  expect(() => syntheticDataset({ split: 'val' as 'train' })).toThrow(/split must be "train" or "test"/);
  expect(() => syntheticDataset(undefined as unknown as { split: 'train' })).toThrow(/expected an options object/);
  expect(() => syntheticDataset({ split: 'train', size: 4 })).toThrow(/size must be an integer in \[8, 1024\]/);
  expect(() => syntheticDataset({ split: 'train', size: 31.5 })).toThrow(/size must be an integer/);
  expect(() => syntheticDataset({ split: 'train', perClass: 0 })).toThrow(/perClass must be a positive integer/);
  expect(() => syntheticDataset({ split: 'train', perClass: 100000, size: 256 })).toThrow(/more than one buffer holds/);
  expect(() => syntheticDataset({ split: 'train', seed: NaN })).toThrow(/seed must be an integer in \[0, 2\^32\)/);
  expect(() => syntheticDataset({ split: 'train', seed: 1.5 })).toThrow(/seed must be an integer/);
});

/** Accuracy of nearest-class-mean on each image's mean colour (a shortcut the dataset must defeat). */
function meanColourAccuracy(train: TensorImageSet, test: TensorImageSet): number {
  return u.scope(() => {
    const a = train.images.float().mean([2, 3]);
    const b = test.images.float().mean([2, 3]);
    const centroids = u.stack(Array.from({ length: 10 }, (_, k) => a.index(train.labels.eq(k)).mean(0)));
    const d = b.unsqueeze(1).sub(centroids.unsqueeze(0)).square().sum(2);
    return d.argmin(1).eq(test.labels).float().mean().item() as number;
  });
}

/** Accuracy of 1-nearest-neighbour on raw pixels. */
function rawNearestNeighbourAccuracy(train: TensorImageSet, test: TensorImageSet): number {
  return u.scope(() => {
    const a = train.images.float().flatten(1);
    const b = test.images.float().flatten(1);
    const d = a.square().sum(1).unsqueeze(0).sub(b.matmul(a.t()).mul(2)); // |a|² - 2 a·b, per test row
    return train.labels.indexSelect(0, d.argmin(1)).eq(test.labels).float().mean().item() as number;
  });
}

/** Trains a tiny CNN for `steps` SGD steps (cosine rate) and returns its test accuracy. */
async function tinyCnnAccuracy(
  train: TensorImageSet,
  test: TensorImageSet,
  options: { steps: number; grayscale?: boolean },
): Promise<number> {
  u.manualSeed(0);
  const conv = (i: number, o: number, stride: number) => [
    new u.Conv2d(i, o, 3, { padding: 1, stride, device }),
    new u.BatchNorm2d(o, { device }),
    new u.ReLU(),
  ];
  const body = new u.Sequential(...conv(3, 32, 2), ...conv(32, 64, 2), ...conv(64, 64, 1));
  const head = new u.Linear(64, 10, { device });
  const prepare = (images: u.Tensor) => {
    let x = images.float().div(255);
    if (options.grayscale)
      x = x
        .select(1, 0)
        .mul(0.2989)
        .add(x.select(1, 1).mul(0.587))
        .add(x.select(1, 2).mul(0.114))
        .unsqueeze(1)
        .expand(-1, 3, -1, -1);
    return x.sub(0.5).div(0.25);
  };
  const forward = (images: u.Tensor) => head.forward(body.forward(prepare(images)).mean([2, 3]));
  const opt = new u.SGD([...body.parameters(), ...head.parameters()], { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
  const rng = new Rng(0);
  const n = train.images.shape[0];
  for (let step = 0; step < options.steps; step++) {
    opt.paramGroups[0].lr = 0.05 * (1 + Math.cos((Math.PI * step) / options.steps)); // cosine from 0.1 to 0
    u.scope(() => {
      const idx = u
        .tensor(
          Int32Array.from({ length: 64 }, () => rng.randint(0, n)),
          { device },
        )
        .long();
      const loss = u.crossEntropy(forward(train.images.indexSelect(0, idx)), train.labels.indexSelect(0, idx));
      opt.zeroGrad();
      loss.backward();
      opt.step();
    });
    if (step % 50 === 49) await new Promise((r) => setImmediate(r)); // let finalizers run (docs/ARCHITECTURE.md)
  }
  body.eval();
  return u.scope(() => u.noGrad(() => forward(test.images).argmax(1).eq(test.labels).float().mean().item() as number));
}

describe('learnable, not trivial', () => {
  const trainSet = syntheticDataset({ split: 'train', perClass: 500, seed: 1, device });
  const testSet = syntheticDataset({ split: 'test', perClass: 100, seed: 1, device });

  test('a tiny CNN beats mean colour and raw-pixel 1-NN by a wide margin', async () => {
    const t0 = Date.now();
    const cnn = await tinyCnnAccuracy(trainSet, testSet, { steps: 300 });
    const colour = meanColourAccuracy(trainSet, testSet);
    const nn = rawNearestNeighbourAccuracy(trainSet, testSet);
    console.log(
      `synthetic: tiny CNN 300 steps (${Date.now() - t0} ms) test accuracy ${cnn.toFixed(3)}; mean-colour nearest centroid ${colour.toFixed(3)}; raw-pixel 1-NN ${nn.toFixed(3)}; chance 0.100`,
    );
    expect(cnn).toBeGreaterThan(0.45);
    expect(colour).toBeLessThan(0.3);
    expect(cnn - colour).toBeGreaterThan(0.25);
    expect(cnn - nn).toBeGreaterThan(0.1);
  });

  test('grayscale keeps the class: the same CNN on grayscale images is still far above chance', async () => {
    const gray = await tinyCnnAccuracy(trainSet, testSet, { steps: 300, grayscale: true });
    console.log(`synthetic: tiny CNN on grayscale images, 300 steps: test accuracy ${gray.toFixed(3)}`);
    expect(gray).toBeGreaterThan(0.3);
  });
});
