// Robustness: random, well-typed calls to every public ATen op never take the process down
// (see test/fuzz-ops.ts). The seeds include those that once found kernels unmix now refuses.
import { spawnSync } from 'child_process';
import * as path from 'path';

const root = path.join(__dirname, '..');

test.each([1, 21, 32, 33, 40, 59])('seed %i: every call returns or throws a JS Error', (seed) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fuzz-ops.ts'), String(seed), '--trace'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const lastOp = r.stderr.trim().split('\n').filter((l) => l.startsWith('aten::')).pop();
  if (r.status !== 0) throw new Error(`fuzz process died (status ${r.status}, signal ${r.signal}) in ${lastOp}`);
  const { calls, results } = JSON.parse(r.stdout.trim().split('\n').pop()!);
  expect(calls).toBeGreaterThan(3000);
  expect(results).toBeGreaterThan(500); // the arguments really reach the kernels
}, 180000);
