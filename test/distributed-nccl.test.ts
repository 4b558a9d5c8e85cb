// c10d's NCCL process group through u.distributed. Compiled into the addon only against a CUDA
// LibTorch that has it (pip's 2.14.1 here; never Debian's CPU-only 1.13); it runs only with a CUDA
// device. Without NCCL, or without a GPU, asking for it is a clear error, never an abort.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
import { dist } from '../lib/distributed/binding';
import { runRanks } from './support/ranks';

const WORKER = path.join(__dirname, 'support', 'nccl-worker.ts');
const devices = u.cuda.deviceCount();
const store = () => u.distributed.Store.file(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-nccl-')), 's'), 1);

test('dist.nccl says whether the addon has NCCL: never on a CPU-only LibTorch', () => {
  expect(typeof dist.nccl).toBe('boolean');
  expect(u.info().distributed.nccl).toBe(dist.nccl);
  if (!u.info().cudaBuild) expect(dist.nccl).toBe(false);
  expect(typeof dist.groupNccl === 'function').toBe(dist.nccl);
  // torch's recommendation: NCCL where it can run, else Gloo
  expect(u.distributed.defaultBackend()).toBe(dist.nccl && devices > 0 ? 'nccl' : 'gloo');
});

const withoutNccl = dist.nccl ? test.skip : test;
withoutNccl(
  `without NCCL in the addon, ProcessGroup.nccl and initProcessGroup({backend: 'nccl'}) name what is missing${dist.nccl ? ' (skipped: this addon has NCCL)' : ''}`,
  async () => {
    const missing =
      /built without NCCL \(its LibTorch is a CPU-only build, or CUDA's and NCCL's headers were not found/;
    await expect(u.distributed.ProcessGroup.nccl(store(), { rank: 0, worldSize: 1 })).rejects.toThrow(missing);
    await expect(u.distributed.ProcessGroup.nccl(store(), { rank: 0, worldSize: 1 })).rejects.toThrow(
      /^ProcessGroup\.nccl: .*use the Gloo backend/,
    );
    await expect(u.distributed.initProcessGroup({ backend: 'nccl', store: store() })).rejects.toThrow(
      /^distributed\.initProcessGroup: this unmix addon was built without NCCL/,
    );
    expect(u.distributed.isInitialized()).toBe(false);
  },
);

const ncclNoGpu = dist.nccl && devices === 0 ? test : test.skip;
ncclNoGpu(
  `with NCCL but no CUDA device, asking for an NCCL group is a clear error, not NCCL's abort${dist.nccl && devices === 0 ? '' : ' (skipped: needs an addon with NCCL on a machine without a GPU)'}`,
  async () => {
    const noDevice =
      /NCCL needs a CUDA device; this machine has none \(torch\.cuda\.device_count\(\) is 0\): use the Gloo backend/;
    await expect(u.distributed.ProcessGroup.nccl(store(), { rank: 0, worldSize: 1 })).rejects.toThrow(noDevice);
    await expect(u.distributed.initProcessGroup({ backend: 'nccl', store: store() })).rejects.toThrow(noDevice);
    expect(u.distributed.isInitialized()).toBe(false);
    // the native entry refuses too (it is what stands between a caller and NCCL's abort)
    expect(() => dist.groupNccl(store().handle, 0, 1, 1000)).toThrow(noDevice);
    // and the process carries on: a Gloo group still works
    if (dist.gloo) {
      const g = await u.distributed.ProcessGroup.gloo(store(), { rank: 0, worldSize: 1, timeoutMs: 5000 });
      const t = u.tensor([1, 2], { dtype: 'float32' });
      await g.allReduce(t);
      expect(Array.from(t.data() as Float32Array)).toEqual([1, 2]);
    }
  },
);

// Two ranks with two GPUs (one each, cuda:LOCAL_RANK); one rank with one GPU.
const world = Math.min(devices, 2);
const withGpus = dist.nccl && world >= 1 ? test : test.skip;
const skipWhy = !dist.nccl
  ? ' (skipped: the addon has no NCCL)'
  : world === 0
    ? ' (skipped: no CUDA device here; it needs torch.cuda.device_count() >= 1)'
    : '';
withGpus(
  `collectives over ${world || 2} NCCL rank(s) on CUDA equal their closed forms; a CPU tensor is a clear error${skipWhy}`,
  async () => {
    const results = await runRanks(process.execPath, ['--import', 'tsx', WORKER], world);
    for (const r of results) expect(r.stderr).not.toMatch(/abort/i);
    for (const [rank, r] of results.entries()) {
      expect(r.code).toBe(0);
      const s = r.lines[0];
      const w = world;
      const sumOver = (f: (q: number) => number) => [...Array(w).keys()].reduce((acc, q) => acc + f(q), 0);
      expect(s).toMatchObject({ rank, worldSize: w, backend: 'nccl', device: `cuda:${rank}` });
      expect(s.sum).toEqual([sumOver((q) => 1 + q), sumOver((q) => 10 * (q + 1)), sumOver((q) => -q)]);
      expect(s.avg).toEqual([sumOver((q) => 1 + q) / w, 3]);
      expect(s.broadcast).toEqual([w - 1 + 0.5, w - 1 + 1.5]);
      expect(s.allGather).toEqual([...Array(w).keys()].map((q) => [q, 100 + q]));
      const reduced = [...Array(2 * w).keys()].map((i) => sumOver((q) => i + q));
      expect(s.reduceScatter).toEqual(reduced.slice(2 * rank, 2 * rank + 2));
      expect(s.cpuError).toMatch(/allReduce: the NCCL backend takes CUDA tensors, got one on cpu/);
    }
  },
  120000,
);
