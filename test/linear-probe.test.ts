// The linear probe: learns a linearly separable problem, reports the best epoch, restores the
// backbone's mode, and leaves no tensors behind.
import * as u from '../lib';
import { linearProbe } from '../lib/eval/linear';
import { Linear } from '../lib/nn/layers';
import { device, settle } from './helpers';

function separable(n: number, seed: number) {
  u.manualSeed(seed);
  const labels = u.randint(0, 3, [n], { device });
  const centres = u.tensor(
    [
      [4, 0, 0, 0],
      [0, 4, 0, 0],
      [0, 0, 4, 0],
    ],
    { device, dtype: 'float32' },
  );
  const images = centres.indexSelect(0, labels).add(u.randn([n, 4], { device }));
  return { images, labels };
}

test('a frozen identity backbone on separable data: high accuracy, best epoch tracked, mode restored, no leaks', async () => {
  const train = separable(300, 1);
  const test_ = separable(150, 2);
  const backbone = new Linear(4, 4, { device });
  backbone.train();
  const batches = (d: { images: u.Tensor; labels: u.Tensor }) =>
    async function* () {
      for (let i = 0; i < d.images.shape[0]; i += 50) {
        const batch = { images: d.images.narrow(0, i, 50), labels: d.labels.narrow(0, i, 50) };
        yield batch;
        batch.images.dispose();
        batch.labels.dispose();
      }
    };
  await settle();
  const before = u.liveTensors();
  const seenModes: boolean[] = [];
  const result = await linearProbe({
    embed: (x) => {
      seenModes.push(backbone.training);
      return x; // identity features
    },
    backbone,
    train: batches(train),
    test: batches(test_),
    classes: 3,
    epochs: 5,
    lr: 0.3,
    weightDecay: 1e-6,
  });
  expect(result.best).toBeGreaterThan(95);
  expect(result.history.length).toBe(5);
  expect(result.history[result.bestEpoch - 1].acc1).toBe(result.best);
  expect(seenModes.every((m) => m === false)).toBe(true);
  expect(backbone.training).toBe(true);
  await settle();
  const after = u.liveTensors();
  expect(after.count).toBe(before.count);
});

test('empty training data is a clear error', async () => {
  await expect(
    linearProbe({
      embed: (x) => x,
      train: async function* () {},
      test: async function* () {},
      classes: 2,
      epochs: 1,
      lr: 0.1,
    }),
  ).rejects.toThrow(/training batches are empty/);
});
