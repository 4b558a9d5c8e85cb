// MoCo across 2 Gloo ranks as the reference's distributed code: ShuffleBN's shuffle/unshuffle with
// rank 0's permutation of the global batch, and keys gathered from every rank before the enqueue, so
// the queue is the same on both ranks (with DDP not broadcasting buffers, nothing else copies it).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { dist } from '../lib/distributed/binding';
import { MoCo } from '../lib/ssl/moco';
import { python, pythonHas } from './support/python';
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

const twinReady = dist.gloo && pythonHas('torch.distributed, torchvision');
(twinReady ? test : test.skip)(
  `one step at W=2 equals the reference builder.py's on torch.distributed: loss, gradients, keys in the queue, the key encoder's BN statistics${twinReady ? '' : ` (skipped: no Gloo in the addon, or ${python} lacks torch.distributed/torchvision)`}`,
  async () => {
    const init = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-moco-twin-')), 'init.pt');
    const py = await runRanks(python, [path.join(__dirname, 'fixtures', 'moco_ddp_twin.py'), init], 2);
    for (const r of py) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const ts = await runRanks(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, 'support', 'moco-ddp-worker.ts'), init],
      2,
    );
    for (const r of ts) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    type Twin = Record<'conv1Grad' | 'fcGrad' | 'queue' | 'keyBnMean', number[]> & { loss: number; ptr: number };
    const rel = (a: number[], b: number[]) => {
      expect(a.length).toBe(b.length);
      const scale = Math.max(...b.map(Math.abs));
      return Math.max(...a.map((x, i) => Math.abs(x - b[i]))) / scale;
    };
    const worst: Record<string, number> = {};
    for (const rank of [0, 1]) {
      const [t, p] = [ts[rank].lines[0] as Twin, py[rank].lines[0] as Twin];
      expect(t.ptr).toBe(p.ptr);
      worst.loss = Math.max(worst.loss ?? 0, Math.abs(t.loss - p.loss) / Math.abs(p.loss));
      for (const k of ['conv1Grad', 'fcGrad', 'queue', 'keyBnMean'] as const)
        worst[k] = Math.max(worst[k] ?? 0, rel(t[k], p[k]));
    }
    for (const v of Object.values(worst)) expect(v).toBeLessThan(1e-10);
    // the ranks differ (their own images), yet hold the same queue: every rank's keys were enqueued
    expect(ts[0].lines[0].loss).not.toBe(ts[1].lines[0].loss);
    expect(ts[0].lines[0].queue).toEqual(ts[1].lines[0].queue);
    console.log(
      `MoCo step at W=2 against builder.py (float64), largest relative differences: ${JSON.stringify(worst)}`,
    );
  },
  120000,
);
