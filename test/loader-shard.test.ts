// The sharded Loader against torch.utils.data.DistributedSampler on the same LibTorch: every rank's
// indices per (seed, epoch), n not a multiple of W (padding), the union of the shards, resume
// mid-epoch, and the unsharded loader left as it was.
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as u from '../lib';
import { TensorImageSet } from '../lib/data/dataset';
import { Loader } from '../lib/data/loader';
import { mocoCifar } from '../lib/data/presets';
import { shardIndices } from '../lib/data/shard';
import { Rng } from '../lib/rng';
import { python, pythonHas } from './support/python';

const hasTorch = pythonHas('torch.utils.data');
const why = hasTorch ? '' : ` (skipped: ${python} has no torch)`;

/** Image i holds the value i % 256 everywhere, so a batch's pixels name its images. */
function tracedSet(n: number): TensorImageSet {
  const images = u
    .arange(0, n, 1, { dtype: 'int64' })
    .remainder(256)
    .to('uint8')
    .view(n, 1, 1, 1)
    .expand(n, 3, 8, 8)
    .contiguous();
  const labels = u.arange(0, n, 1, { dtype: 'int64' }).remainder(10);
  return { kind: 'tensor', format: 'synthetic', split: 'train', images, labels, classes: ['a'] };
}

async function collect(loader: Loader, epoch: number, startBatch = 0) {
  const out: { indices: number[]; pixels: number[] }[] = [];
  for await (const b of loader.epoch(epoch, { startBatch })) {
    out.push({
      indices: [...b.indices],
      pixels: Array.from(b.views[b.views.length - 1].data() as Float32Array).slice(0, 64),
    });
    b.dispose();
  }
  return out;
}

interface Case {
  n: number;
  worldSize: number;
  seed: number;
  epoch: number;
  shuffle: boolean;
}

const CASES: Case[] = [
  ...[0, 3, 123].flatMap((seed) => [0, 1, 5].map((epoch) => ({ n: 11, worldSize: 2, seed, epoch, shuffle: true }))),
  { n: 37, worldSize: 2, seed: 7, epoch: 2, shuffle: true },
  { n: 12, worldSize: 2, seed: 1, epoch: 0, shuffle: true },
  { n: 11, worldSize: 2, seed: 3, epoch: 0, shuffle: false },
  { n: 10, worldSize: 3, seed: 4, epoch: 1, shuffle: true },
  { n: 2, worldSize: 5, seed: 9, epoch: 0, shuffle: true }, // padding longer than the dataset
  { n: 9, worldSize: 2, seed: -2, epoch: 1, shuffle: true }, // seed + epoch < 0 wraps as in torch
];

(hasTorch ? test : test.skip)(`the shards are DistributedSampler's, rank by rank${why}`, async () => {
  const script = path.join(__dirname, 'fixtures', 'distributed_sampler.py');
  const r = spawnSync(python, [script, JSON.stringify(CASES)], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const torch = JSON.parse(r.stdout) as number[][][];
  for (const [i, c] of CASES.entries()) {
    const ours = Array.from({ length: c.worldSize }, (_, rank) => [
      ...shardIndices(c.n, { rank, worldSize: c.worldSize }, c),
    ]);
    expect({ case: c, ranks: ours }).toEqual({ case: c, ranks: torch[i] });
    // the Loader serves the same indices (all of them: no dropLast)
    for (let rank = 0; rank < c.worldSize; rank++) {
      const loader = new Loader(tracedSet(c.n), {
        batchSize: 3,
        shuffle: c.shuffle,
        seed: c.seed,
        shard: { rank, worldSize: c.worldSize },
      });
      expect(loader.size).toBe(Math.ceil(c.n / c.worldSize));
      expect((await collect(loader, c.epoch)).flatMap((b) => b.indices)).toEqual(torch[i][rank]);
    }
  }
});

test('the shards cover the dataset, padded by repeats from the start of the permutation', () => {
  for (const [n, w] of [
    [11, 2],
    [10, 3],
    [64, 2],
    [3, 4],
  ]) {
    const shards = Array.from({ length: w }, (_, rank) => [
      ...shardIndices(n, { rank, worldSize: w }, { shuffle: true, seed: 5, epoch: 2 }),
    ]);
    const all = shards.flat();
    expect(all.length).toBe(Math.ceil(n / w) * w);
    expect(new Set(all).size).toBe(n);
    // interleaved back, the shards are the permutation then its first (total - n) entries again
    const merged = Array.from({ length: all.length }, (_, k) => shards[k % w][Math.floor(k / w)]);
    expect(merged.slice(n)).toEqual(merged.slice(0, all.length - n));
    expect([...merged.slice(0, n)].sort((a, b) => a - b)).toEqual([...Array(n).keys()]);
  }
});

test('a sharded epoch resumed mid-way (a new loader, as after a restart) gives the rest of the shard', async () => {
  const make = (rank: number) =>
    new Loader(tracedSet(45), { batchSize: 4, views: mocoCifar({ size: 8 }), seed: 11, shard: { rank, worldSize: 2 } });
  for (const rank of [0, 1]) {
    const full = await collect(make(rank), 3);
    expect(full.length).toBe(5); // 23 images per rank, dropLast
    expect(await collect(make(rank), 3, 2)).toEqual(full.slice(2));
    expect(full.flatMap((b) => b.indices)).toEqual(
      [...shardIndices(45, { rank, worldSize: 2 }, { shuffle: true, seed: 11, epoch: 3 })].slice(0, 20),
    );
  }
  const [a, b] = [await collect(make(0), 1), await collect(make(1), 1)];
  expect(new Set([...a, ...b].flatMap((x) => x.indices)).size).toBe(40);
  // another epoch, another order
  expect((await collect(make(0), 2)).flatMap((x) => x.indices)).not.toEqual(a.flatMap((x) => x.indices));
});

test('unsharded loaders are as before: no group means no shard, and the order is the Rng permutation', () => {
  const set = tracedSet(20);
  const training = new Loader(set, { batchSize: 4, views: mocoCifar({ size: 8 }), seed: 6 });
  expect(training.shard).toBeNull();
  expect(training.size).toBe(20);
  expect([...training.order(2)]).toEqual([...Rng.derive(6, 2).permutation(20)]);
  expect(new Loader(set, { batchSize: 4, pipeline: [], shard: false }).shard).toBeNull();
  expect(u.distributed.isInitialized()).toBe(false);
});

test('bad shard options are refused clearly', () => {
  const set = tracedSet(10);
  expect(() => new Loader(set, { batchSize: 2, shard: { rank: 2, worldSize: 2 } })).toThrow(
    'Loader: shard.rank must be an integer in [0, 1] (below shard.worldSize), got 2',
  );
  expect(() => new Loader(set, { batchSize: 2, shard: { rank: 0, worldSize: 0 } })).toThrow(
    'Loader: shard.worldSize must be a positive integer, got 0',
  );
  expect(() => new Loader(set, { batchSize: 2, shard: 'yes' as never })).toThrow(
    "Loader: shard must be a boolean or {rank, worldSize}, got 'yes'",
  );
  expect(() => new Loader(set, { batchSize: 2, shard: true })).toThrow(/shard: true takes the default process group/);
  expect(() => new Loader(set, { batchSize: 6, views: mocoCifar(), shard: { rank: 0, worldSize: 2 } })).toThrow(
    'Loader: 10 images (5 per rank of 2) cannot fill one batch of 6 with dropLast',
  );
});
