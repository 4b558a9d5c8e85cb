// The with-grad scenario's inputs (test/support/dist-worker.ts), rebuilt by the test for both ranks.
import * as u from '../../lib';

/** Closed-form inputs of rank r (test/distributed.test.ts rebuilds both ranks' in one process). */
export function gradInputs(r: number) {
  const x = u
    .arange(0, 3 * 4 * 2 * 2, 1, { dtype: 'float64' })
    .mul(0.3)
    .add(r * 1.7)
    .sin()
    .reshape([3, 4, 2, 2]);
  const w = u
    .arange(0, 3 * 4 * 2 * 2, 1, { dtype: 'float64' })
    .mul(0.19)
    .add(r)
    .cos()
    .reshape([3, 4, 2, 2]);
  const f = u
    .arange(0, 2 * 3, 1, { dtype: 'float64' })
    .add(r * 6)
    .mul(0.5)
    .reshape([2, 3]);
  return { x, w, f };
}
