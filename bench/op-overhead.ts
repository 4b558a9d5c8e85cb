// Microseconds per call of small-tensor ops through unmix, next to the same ops in Python
// PyTorch on the same LibTorch (bench/op_overhead.py), run one after the other in one command:
//   npx tsx bench/op-overhead.ts [iterations]
// Best of 5 runs per op; tensors created by each run are freed by a scope every 1000 calls,
// which is part of the measured cost (as Python's refcounting is part of its).
import { execFileSync } from 'child_process';
import * as path from 'path';
import * as u from '../lib';

const iters = Number(process.argv[2] ?? 20000);

function measureTs(): Record<string, number> {
  const a = u.keep(u.randn([8]));
  const b = u.keep(u.randn([8]));
  const m = u.keep(u.randn([8, 8]));
  const x = u.keep(u.randn([16, 8]));
  const cases: Record<string, () => unknown> = {
    add: () => a.add(b),
    add_scalar: () => a.add(1.5),
    add_: () => a.add_(b),
    matmul8x8: () => m.matmul(m),
    index: () => x.index(3),
    slice: () => x.index({ start: 2, end: 10 }, { start: 1, end: 5 }),
    sum: () => a.sum(),
    relu: () => a.relu(),
  };
  const result: Record<string, number> = {};
  for (const [name, fn] of Object.entries(cases)) {
    let best = Infinity;
    for (let run = 0; run < 5; run++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < iters; i += 1000) {
        u.scope(() => {
          for (let k = 0; k < 1000; k++) fn();
        });
      }
      best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e3 / iters);
    }
    result[name] = best;
  }
  return result;
}

function measurePython(): Record<string, number> {
  const out = execFileSync('/usr/bin/python3', [path.join(__dirname, 'op_overhead.py'), String(iters), String(u.getNumThreads())], { encoding: 'utf8' });
  return JSON.parse(out);
}

const ts = measureTs();
const py = measurePython();
const rows = Object.keys(ts).map((op) => ({ op, ts_us: +ts[op].toFixed(2), py_us: +py[op].toFixed(2), speedup: +(py[op] / ts[op]).toFixed(2) }));
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ case: 'op-overhead', iterations: iters, libtorch: u.info().libtorch, rows }));
} else {
  console.log(`op-overhead: µs per call, best of 5 × ${iters} calls, LibTorch ${u.info().libtorch}, ${u.getNumThreads()} threads`);
  console.table(rows);
}
