// A PyTorch-style training loop with no scopes and no dispose stays bounded: a width-8 ResNet-18
// on two SimCLR views, NT-Xent, SGD with momentum, 40 epochs of 4 batches of 32, in a child
// process of its own (test/support/plain-loop.ts, without --expose-gc: the loop gets no help).
// Before GC-owned tensors were swept synchronously and collected per 32 MiB (lib/memory.ts), the
// same loop grew by 24 tensors and about 20 MB of RSS every epoch: 1,142 tensors and ~1 GB at epoch 40.
import { execFileSync } from 'child_process';
import * as path from 'path';

interface Row {
  epoch: number;
  live: number;
  rssMb: number;
  externalMb: number;
  gcMb: number;
  loss: number;
}

test('40 epochs of a plain loop keep live tensors, GC-owned bytes and RSS bounded', () => {
  const script = path.join(__dirname, 'support', 'plain-loop.ts');
  const out = execFileSync(process.execPath, ['--import', 'tsx', script, '40', '13', '32'], {
    cwd: path.join(__dirname, '..'),
    encoding: 'utf8',
    env: { ...process.env, UNMIX_TEST_DEVICE: 'cpu' },
    maxBuffer: 1 << 24,
  });
  const rows: Row[] = JSON.parse(out.trim().split('\n').pop()!).rows;
  expect(rows).toHaveLength(40);
  expect(rows.every((r) => Number.isFinite(r.loss))).toBe(true);
  // Bounds: the model, its gradients' momentum and the data are ~190 tensors; each batch leaves
  // 11 tensors (0.8 MB) to the GC, and a collection runs at 32 MiB of them, so at most ~45
  // batches' worth (~500 tensors, 40 MB) are ever waiting. Measured: 198-438 tensors, <= 35 MB.
  for (const r of rows) {
    expect(r.live).toBeLessThan(500);
    expect(r.gcMb).toBeLessThan(40);
  }
  // The count falls back, again and again: garbage is freed, not merely slowed down.
  expect(rows.filter((r, i) => i > 0 && r.live < rows[i - 1].live).length).toBeGreaterThanOrEqual(2);
  // RSS: the heap settles once garbage is collected (two cycles, ~20 epochs); over the last 20
  // epochs it grows by less than 64 MiB (measured: under 2 MB; before: ~370 MB).
  const settled = rows[19].rssMb;
  expect(Math.max(...rows.slice(20).map((r) => r.rssMb)) - settled).toBeLessThan(64);
}, 600_000);

test('a synchronous loop that never awaits frees the tensors it forgets, without the event loop', () => {
  // 4,000 forgotten 256 KiB tensors (1 GB in all) in one synchronous run, in a process of its own:
  // FinalizationRegistry callbacks cannot run meanwhile, the native sweep can. The budget is fixed
  // at 32 MiB (UNMIX_GC_BUDGET): a loop that only allocates makes each collection look costly,
  // and the adaptive budget would grow. A collection per 32 MiB keeps about 128 alive (measured:
  // 128); the loop stops at 1,000, so a regression costs 256 MB.
  const script = path.join(__dirname, 'support', 'plain-loop.ts');
  const out = execFileSync(process.execPath, ['--import', 'tsx', script, 'sync'], {
    cwd: path.join(__dirname, '..'),
    encoding: 'utf8',
    env: { ...process.env, UNMIX_GC_BUDGET: String(32 * 2 ** 20) },
  });
  const { peak, made } = JSON.parse(out.trim().split('\n').pop()!);
  expect(made).toBe(4000);
  expect(peak).toBeLessThan(400);
});
