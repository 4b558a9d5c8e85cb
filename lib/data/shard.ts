// One rank's part of a dataset, as torch.utils.data.DistributedSampler(dataset, num_replicas=W,
// rank=r, shuffle, seed, drop_last=False) after set_epoch(epoch) gives it: the permutation is
// LibTorch's randperm under a generator seeded with seed + epoch (the same kernel as Python's, so the
// same indices), padded by repeating from the start to a multiple of W, then every W-th from r.
import { randperm } from '../creation';
import { scope } from '../memory';
import { Generator } from '../random';
import * as is from '../validate';

export interface Shard {
  rank: number;
  worldSize: number;
}

/** Checks a shard's rank and world size. */
export function checkShard(owner: string, shard: unknown): Shard {
  if (shard === null || typeof shard !== 'object')
    throw new TypeError(`${owner}: shard must be a boolean or {rank, worldSize}, got ${is.shown(shard)}`);
  const s = shard as Shard;
  const worldSize = is.positiveInt(owner, 'shard.worldSize', s.worldSize);
  const rank = is.intInRange(owner, 'shard.rank', s.rank, 0, worldSize - 1, 'below shard.worldSize');
  return { rank, worldSize };
}

/** Indices each rank visits per epoch: ceil(n / W) (DistributedSampler's num_samples). */
export function shardSize(n: number, worldSize: number): number {
  return Math.ceil(n / worldSize);
}

/** This rank's dataset indices for `epoch`, in the order DistributedSampler yields them. */
export function shardIndices(
  n: number,
  shard: Shard,
  options: { shuffle: boolean; seed: number; epoch: number },
): Int32Array {
  const all = options.shuffle
    ? scope(() => {
        const g = new Generator().manualSeed(options.seed + options.epoch);
        return Int32Array.from(randperm(n, { generator: g }).data() as BigInt64Array, Number);
      })
    : Int32Array.from({ length: n }, (_, i) => i);
  const size = shardSize(n, shard.worldSize);
  const out = new Int32Array(size);
  // padded index k is all[k % n] (DistributedSampler repeats the list as often as needed)
  for (let i = 0; i < size; i++) out[i] = all[(shard.rank + i * shard.worldSize) % n];
  return out;
}
