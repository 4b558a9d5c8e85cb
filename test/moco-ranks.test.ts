// MoCo across 2 Gloo ranks as the reference's distributed code: ShuffleBN's shuffle/unshuffle with
// rank 0's permutation of the global batch, and keys gathered from every rank before the enqueue, so
// the queue is the same on both ranks (with DDP not broadcasting buffers, nothing else copies it).
import * as path from 'path';
import { dist } from '../lib/distributed/binding';
import { MoCo } from '../lib/ssl/moco';
import { runRanks } from './support/ranks';

const withGloo = dist.gloo ? test : test.skip;
const why = dist.gloo ? '' : ' (skipped: the addon was built without Gloo headers; apt-get install libgloo-dev)';

interface Seen {
  rank: number;
  shuffled: number[];
  unshuffle: number[];
  back: number[];
  queue: number[];
  initialQueue: number[];
  ptr: number;
  weights: number[];
  keyWeights: number[];
  losses: number[];
  fatal?: string;
}

withGloo(
  `2 ranks: ShuffleBN with rank 0's permutation, the same queue on both ranks after 3 steps${why}`,
  async () => {
    const results = await runRanks(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, 'support', 'moco-rank.ts')],
      2,
      { UNMIX_NUM_THREADS: '1' },
    );
    for (const [i, r] of results.entries())
      expect({ rank: i, code: r.code, fatal: r.lines[0]?.fatal }).toEqual({ rank: i, code: 0, fatal: undefined });
    const [s0, s1] = results.map((r) => r.lines[0] as unknown as Seen);

    // the global batch is [0, 1, 2, 3, 10, 11, 12, 13]; rank 0's permutation [5, 2, 7, 0, 3, 6, 1, 4]
    const global = [0, 1, 2, 3, 10, 11, 12, 13];
    const perm = [5, 2, 7, 0, 3, 6, 1, 4];
    const rows = (ids: number[]) => ids.flatMap((i) => [global[i], global[i]]);
    expect(s0.shuffled).toEqual(rows(perm.slice(0, 4)));
    expect(s1.shuffled).toEqual(rows(perm.slice(4)));
    const argsort = [...perm.keys()].sort((a, b) => perm[a] - perm[b]);
    expect(s0.unshuffle).toEqual(argsort);
    expect(s1.unshuffle).toEqual(argsort);
    // unshuffled, each rank has its own rows back in order (×2 applied to the shuffled slice)
    expect(s0.back).toEqual(rows([0, 1, 2, 3]).map((v) => 2 * v));
    expect(s1.back).toEqual(rows([4, 5, 6, 7]).map((v) => 2 * v));

    // 3 steps × (4 images × 2 views × 2 ranks) keys: every column written, the pointer at 48 mod 32
    expect(s0.ptr).toBe(16);
    expect(s1.ptr).toBe(16);
    expect(s0.queue).toEqual(s1.queue);
    expect(s0.initialQueue).toEqual(s1.initialQueue);
    const changed = s0.queue.filter((v, i) => v !== s0.initialQueue[i]).length;
    expect(changed).toBe(s0.queue.length);
    // the ranks saw different images (different losses) and DDP kept their weights together
    expect(s0.losses).not.toEqual(s1.losses);
    expect(s0.weights).toEqual(s1.weights);
    expect(s0.keyWeights).toEqual(s1.keyWeights);
  },
  60000,
);

test('worldSize > 1 without a matching default group is refused clearly', () => {
  expect(() => new MoCo({ width: 4, dim: 8, K: 32, bnSplits: 1, worldSize: 2, rank: 0 })).toThrow(
    'MoCo: worldSize 2, rank 0 needs the default process group of those ranks (await u.distributed.initProcessGroup() first), got none',
  );
  expect(() => new MoCo({ width: 4, dim: 8, K: 32, worldSize: 2, rank: 2 })).toThrow(
    'MoCo: rank must be an integer in [0, 1] (below worldSize), got 2',
  );
});
