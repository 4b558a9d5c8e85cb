// SyncBatchNorm.convertSyncBatchnorm (torch.nn.SyncBatchNorm.convert_sync_batchnorm): the same
// state dict under the same keys, and under 2 Gloo ranks the converted net's training step on each
// rank's half batch is the plain net's on the whole batch.
import * as path from 'path';
import * as u from '../lib';
import { dist } from '../lib/distributed/binding';
import { runRanks } from './support/ranks';
import { syncBnBatch, syncBnNet } from './support/sync-bn-net';

const { SyncBatchNorm } = u.distributed;
const withGloo = dist.gloo ? test : test.skip;
const why = dist.gloo ? '' : ' (skipped: the addon was built without Gloo headers; apt-get install libgloo-dev)';
const vals = (t: u.Tensor) => Array.from(t.data() as ArrayLike<number>, Number);
const norms = (m: u.Module) => m.namedModules().filter(([, c]) => /Norm/.test(c.constructor.name));

test('convertSyncBatchnorm: every BatchNorm1d/2d replaced under its name, the same tensors, options and modes', () => {
  const net = syncBnNet();
  const before = net.stateDict();
  const frozen = (net.at(0) as u.ResNet).namedParameters().find(([k]) => k === 'bn1.weight')![1];
  frozen.requiresGrad_(false);
  net.at(2).eval();
  const converted = SyncBatchNorm.convertSyncBatchnorm(net);
  expect(converted).toBe(net);
  const after = net.stateDict();
  expect(Object.keys(after)).toEqual(Object.keys(before));
  for (const k of Object.keys(before)) expect(after[k]).toBe(before[k]); // the very tensors
  expect(frozen.requiresGrad).toBe(false);
  const found = norms(net);
  expect(found.length).toBe(1 + 8 * 2 + 3 + 1); // stem, two per block, three downsamples, the head's
  for (const [, m] of found) expect(m).toBeInstanceOf(SyncBatchNorm);
  // the Sequential's forward uses its new layer (its array), eval mode kept
  expect(net.at(2)).toBe(found.at(-1)![1]);
  expect(net.at(2).training).toBe(false);
  const head = net.at(2) as InstanceType<typeof SyncBatchNorm>;
  expect([head.eps, head.momentum, head.numFeatures]).toEqual([1e-5, 0.3, 6]);

  // a BatchNorm itself becomes one, options kept; SplitBatchNorm2d stays
  const plain = new u.BatchNorm2d(3, { affine: false, eps: 1e-3 });
  const sync = SyncBatchNorm.convertSyncBatchnorm(plain);
  expect(sync).toBeInstanceOf(SyncBatchNorm);
  expect([sync.weight, sync.eps, sync.runningMean]).toEqual([null, 1e-3, plain.runningMean]);
  const split = new u.SplitBatchNorm2d(3, 2);
  expect(SyncBatchNorm.convertSyncBatchnorm(split)).toBe(split);
  expect(() => SyncBatchNorm.convertSyncBatchnorm(3 as never)).toThrow(
    'SyncBatchNorm.convertSyncBatchnorm: module must be a Module, got 3',
  );
});

withGloo(
  `convertSyncBatchnorm under 2 ranks: outputs, DDP-averaged gradients and running stats of the whole batch${why}`,
  async () => {
    const worker = path.join(__dirname, 'support', 'sync-bn-worker.ts');
    const results = await runRanks(process.execPath, ['--import', 'tsx', worker], 2, { UNMIX_NUM_THREADS: '1' });
    const seen = results.map((r) => r.lines[0] as Record<string, never>);
    for (const [i, r] of results.entries()) expect({ i, code: r.code, fatal: seen[i]?.fatal }).toEqual({ i, code: 0 });
    // one process, plain BatchNorm, the concatenated batch; the loss is DDP's average of the ranks' sums
    const net = syncBnNet();
    const { x, w } = syncBnBatch();
    const y = net.forward(x);
    y.mul(w).sum().div(2).backward();
    let worst = 0;
    // relative to the values' size (1 at least): gradients reach the hundreds, and E[x²] − E[x]² loses digits
    const close = (a: number[], b: number[]) => {
      expect(a.length).toBe(b.length);
      for (const [i, v] of a.entries()) worst = Math.max(worst, Math.abs(v - b[i]) / Math.max(1, Math.abs(b[i])));
    };
    const half = y.numel() / 2;
    for (const r of [0, 1]) {
      expect(seen[r].norms).toEqual(['SyncBatchNorm']);
      close(seen[r].y, vals(y.detach()).slice(r * half, (r + 1) * half));
      for (const [k, p] of net.namedParameters()) close(seen[r].grads[k], vals(p.grad!));
      for (const [k, b] of net.namedBuffers()) close(seen[r].buffers[k], vals(b));
    }
    expect(worst).toBeLessThan(1e-12);
  },
  60000,
);
