// Robustness: random, well-typed calls to every op the dispatcher lists never take the process
// down (see test/fuzz-ops.ts), nor do wrong-kind arguments to any native entry point
// (test/fuzz-native.ts). The seeds include those that once found kernels unmix now refuses.
// A longer run: `for s in $(seq 1 200); do node --import tsx test/fuzz-ops.ts $s --rounds 10 || break; done`
// (and the same with test/fuzz-native.ts).
import { spawnSync } from 'child_process';
import * as path from 'path';

const root = path.join(__dirname, '..');

test.each([1, 21, 32, 33, 40, 59])(
  'seed %i: every call returns or throws a JS Error',
  (seed) => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, 'fuzz-ops.ts'), String(seed), '--trace'],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 120000,
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const lastOp = r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('aten::'))
      .pop();
    if (r.status !== 0) throw new Error(`fuzz process died (status ${r.status}, signal ${r.signal}) in ${lastOp}`);
    const { calls, results } = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(calls).toBeGreaterThan(3000);
    expect(results).toBeGreaterThan(500); // the arguments really reach the kernels
  },
  180000,
);

test.each([1, 2, 3])(
  'native entry points, seed %i: wrong argument kinds end in a JS Error, never an abort',
  (seed) => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, 'fuzz-native.ts'), String(seed), '--trace'],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 120000,
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const last = r.stderr
      .trim()
      .split('\n')
      .filter((l) => /^[\w. ]+$/.test(l))
      .pop();
    if (r.status !== 0)
      throw new Error(
        `native fuzz process died (status ${r.status}, signal ${r.signal}) in ${last}\n${r.stderr.slice(-3000)}`,
      );
    const { calls, entries } = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(entries).toBeGreaterThan(40);
    expect(calls).toBeGreaterThan(5000);
  },
  180000,
);
