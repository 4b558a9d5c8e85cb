// Collectives that wait on the JS thread (within the group's timeout), as torch's blocking
// dist.all_reduce does, for a method's forward, which cannot await (SwAV's Sinkhorn, SimCLR's
// negatives from every rank).
import { noGrad } from '../autograd';
import { zeros } from '../creation';
import { call } from '../dispatch';
import { scope } from '../memory';
import { Device, Tensor } from '../tensor';
import { dist } from './binding';
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

/**
 * Every rank's `input` concatenated along dim 0, rank order, as a tensor autograd goes through
 * (backward: the gradient summed over the ranks, this rank's rows: solo-learn's GatherLayer).
 */
export function allGatherWithGradNow(group: ProcessGroup, input: Tensor): Tensor {
  try {
    return Tensor.fromHandle(dist.allGatherWithGrad(group.handle, input.contiguous(), true));
  } catch (e) {
    throw new Error(
      `allGatherWithGradNow (rank ${group.rank} of ${group.worldSize}, timeout ${group.timeoutMs} ms): ${(e as Error).message}`,
    );
  }
}

/** The initialized default group when it has more than one rank, else null (one process). */
export function activeGroup(): ProcessGroup | null {
  const g = isInitialized() ? defaultGroup() : null;
  return g && g.worldSize > 1 ? g : null;
}
