// SwAV's Sinkhorn over 2 Gloo ranks (sinkhornOverRanks, as the method runs it under N ranks) against
// the reference's distributed_sinkhorn on torch.distributed, and against one Sinkhorn over the
// concatenated batch: each rank's codes are its rows of the one-process codes.
import * as path from 'path';
import { dist } from '../lib/distributed/binding';
import { python, pythonHas } from './support/python';
import { runRanks } from './support/ranks';
import { B, K, codes, scores } from './support/sinkhorn-worker';

const ready = dist.gloo && pythonHas('torch.distributed');
const why = !dist.gloo
  ? ' (skipped: the addon was built without Gloo headers)'
  : !ready
    ? ` (skipped: ${python} has no torch.distributed)`
    : '';
const maxDiff = (a: number[], b: number[]) => {
  expect(a.length).toBe(b.length);
  return Math.max(...a.map((x, i) => Math.abs(x - b[i])));
};

(ready ? test : test.skip)(
  `codes over 2 ranks equal the reference's distributed_sinkhorn (old, old + stability max, new) and one Sinkhorn over both batches${why}`,
  async () => {
    const [ts, py] = [
      await runRanks(process.execPath, ['--import', 'tsx', path.join(__dirname, 'support', 'sinkhorn-worker.ts')], 2),
      await runRanks(python, [path.join(__dirname, 'fixtures', 'sinkhorn_twin.py')], 2),
    ];
    for (const r of [...ts, ...py]) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const whole = codes(scores(2), {}); // one process, the concatenated batch
    const seen: string[] = [];
    for (const form of ['old', 'old_stable', 'new']) {
      const [t0, t1] = ts.map((r) => r.lines[0][form] as number[]);
      const [p0, p1] = py.map((r) => r.lines[0][form] as number[]);
      expect(t0.length).toBe(B * K);
      // the same float64 operations in the same order as torch's: equal to rounding
      seen.push(
        `${form}: |TS − torch| ≤ ${Math.max(maxDiff(t0, p0), maxDiff(t1, p1))}, |2 ranks − 1 process| ≤ ${maxDiff([...t0, ...t1], whole[form])}`,
      );
      expect(maxDiff(t0, p0)).toBeLessThan(1e-15);
      expect(maxDiff(t1, p1)).toBeLessThan(1e-15);
      expect(maxDiff([...t0, ...t1], whole[form])).toBeLessThan(1e-12);
      // the ranks hold different rows, each a distribution over the prototypes
      expect(maxDiff(t0, t1)).toBeGreaterThan(0.01);
      for (let row = 0; row < B; row++) {
        const sum = t0.slice(row * K, row * K + K).reduce((a, b) => a + b, 0);
        expect(Math.abs(sum - 1)).toBeLessThan(1e-12);
      }
    }
    console.log(`Sinkhorn over 2 ranks, float64, B ${B} per rank, K ${K}:\n${seen.join('\n')}`);
  },
);
