// Collectives that wait on the JS thread (within the group's timeout), as torch's blocking
// dist.all_reduce does, for a method's forward, which cannot await (SwAV's Sinkhorn); the group's
// own `{now: true}` forms serve the rest (SyncBatchNorm, MoCo's key gather, SimCLR's negatives).
import { noGrad } from '../autograd';
import { zeros } from '../creation';
import { call } from '../dispatch';
import { scope } from '../memory';
import type { Device, Tensor } from '../tensor';
import type { ProcessGroup } from './group';
import { defaultGroup, isInitialized } from './init';

/** Sums (or takes the max of) `t` over the ranks, in place, waiting on this thread. */
export function allReduceNow(group: ProcessGroup, t: Tensor, op: 'sum' | 'max'): void {
  noGrad(() =>
    scope(() => {
      if (op === 'sum') {
        t.copy_(group.allReduceWithGrad(t, { now: true }));
        return;
      }
      // max through a sum: each rank's values in its own row of zeros, then the max over the rows
      const rows = zeros([group.worldSize, ...t.shape], { dtype: t.dtype, device: t.device as Device });
      rows.select(0, group.rank).copy_(t);
      t.copy_(call('amax', [group.allReduceWithGrad(rows, { now: true }), [0]]) as Tensor);
    }),
  );
}

/** The initialized default group when it has more than one rank, else null (one process). */
export function activeGroup(): ProcessGroup | null {
  const g = isInitialized() ? defaultGroup() : null;
  return g && g.worldSize > 1 ? g : null;
}
