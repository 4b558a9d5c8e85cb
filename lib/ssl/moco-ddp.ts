// MoCo's cross-rank parts, as the reference's builder.py does them (no gradients, synchronous
// collectives, since a method's step cannot await): concat_all_gather of the keys before the
// enqueue, so every rank's queue holds the same keys, and ShuffleBN: the key encoder's input
// gathered from every rank, rank 0's permutation of the global batch taken by all, each rank
// encoding its slice, then the keys gathered back and unshuffled to this rank's rows.
import { noGrad } from '../autograd';
import { tensor } from '../creation';
import type { ProcessGroup } from '../distributed/group';
import { scope } from '../memory';
import { Tensor } from '../tensor';

/** Every rank's `x` along dim 0, in rank order (concat_all_gather; no gradient). */
export function concatAllGather(group: ProcessGroup, x: Tensor): Tensor {
  return noGrad(() => group.allGatherWithGrad(x.contiguous(), { now: true }));
}

/** Rank 0's permutation on every rank (a sum where the others give zeros: the step cannot await a broadcast). */
export function rankZeroPermutation(group: ProcessGroup, perm: Int32Array, device: Tensor['device']): Tensor {
  return noGrad(() =>
    scope(() => {
      const mine = tensor(Float64Array.from(perm, (v) => (group.rank === 0 ? v : 0)));
      return group.allReduceWithGrad(mine, { now: true }).to('int64').to(device);
    }),
  );
}

/**
 * _batch_shuffle_ddp: this rank's slice of the shuffled global batch, and the indices that undo the
 * shuffle (argsort of the permutation). `perm` is a permutation of the global batch (rank 0's is used).
 */
export function batchShuffleDdp(group: ProcessGroup, x: Tensor, perm: Int32Array): { x: Tensor; unshuffle: Tensor } {
  return noGrad(() =>
    scope(() => {
      const all = concatAllGather(group, x);
      const idx = rankZeroPermutation(group, perm, x.device);
      const mine = idx.view(group.worldSize, -1).select(0, group.rank);
      return { x: all.indexSelect(0, mine), unshuffle: idx.argsort() };
    }),
  );
}

/** _batch_unshuffle_ddp: the keys of this rank's own images, back in its order. */
export function batchUnshuffleDdp(group: ProcessGroup, x: Tensor, unshuffle: Tensor): Tensor {
  return noGrad(() =>
    scope(() => {
      const all = concatAllGather(group, x);
      return all.indexSelect(0, unshuffle.view(group.worldSize, -1).select(0, group.rank));
    }),
  );
}
