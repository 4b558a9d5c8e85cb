// Microseconds per call of small-tensor ops: what crossing from JS into LibTorch costs, next to
// Python's own per-call cost on the same LibTorch (bench/op_overhead.py). Tensors made by the calls
// are freed by a scope every 1000 calls, which is part of the cost (as refcounting is in Python's).
import * as u from '../../lib';
import {
  BenchCase,
  CaseResult,
  CommonOptions,
  Runs,
  intArg,
  Sample,
  alternate,
  median,
  summarize,
  sync,
  withTwin,
} from './harness';

export interface OpOverheadOptions {
  /** calls of each op per repeat */
  iters: number;
}

/** The ops, by the names the Python twin uses too. */
export const OPS = ['add', 'add_scalar', 'add_', 'matmul8x8', 'index', 'slice', 'sum', 'relu'] as const;

function measureTs(device: u.Device, iters: number): Sample {
  return u.scope(() => {
    const a = u.randn([8], { device });
    const b = u.randn([8], { device });
    const m = u.randn([8, 8], { device });
    const x = u.randn([16, 8], { device });
    const ops: Record<(typeof OPS)[number], () => unknown> = {
      add: () => a.add(b),
      add_scalar: () => a.add(1.5),
      add_: () => a.add_(b),
      matmul8x8: () => m.matmul(m),
      index: () => x.index(3),
      slice: () => x.index({ start: 2, end: 10 }, { start: 1, end: 5 }),
      sum: () => a.sum(),
      relu: () => a.relu(),
    };
    const sample: Sample = { ms: 0 };
    for (const name of OPS) {
      const fn = ops[name];
      sync(device);
      const start = process.hrtime.bigint();
      for (let done = 0; done < iters; done += 1000) {
        const n = Math.min(1000, iters - done);
        u.scope(() => {
          for (let k = 0; k < n; k++) fn();
        });
      }
      sync(device);
      const us = Number(process.hrtime.bigint() - start) / 1e3 / iters;
      sample[name] = us;
      sample.ms += us / 1e3;
    }
    return sample;
  });
}

export const opOverhead: BenchCase<OpOverheadOptions> = {
  name: 'op-overhead',
  summary: 'small tensors (add, 8×8 matmul, indexing, ...): µs per call',
  options: (cmd) => cmd.option('--iters <n>', 'calls of each op per repeat', intArg(1)),
  defaults: (quick) => (quick ? { iters: 200, warmup: 1, repeats: 3 } : { iters: 20000, warmup: 1, repeats: 5 }),
  async run(common: CommonOptions, o: OpOverheadOptions & Runs): Promise<CaseResult> {
    const config = { device: common.device, threads: common.threads, iters: o.iters, ops: OPS };
    return withTwin('op_overhead.py', config, async (twin) => {
      const samples = await alternate(twin, async () => measureTs(common.device, o.iters), o);
      const rows = OPS.map((op) => {
        const ts = median(samples.ts.map((s) => s[op]));
        const py = median(samples.py.map((s) => s[op]));
        return { op, ts_us: ts, py_us: py, speedup: py / ts };
      });
      return {
        ...summarize(
          'op-overhead',
          'one call of each of the 8 ops (per-op µs in rows)',
          common,
          o,
          samples,
          twin,
          config,
        ),
        rows,
      };
    });
  },
};
