// One rank of SwAV's Sinkhorn over N ranks (test/sinkhorn-ranks.test.ts), the twin of
// test/fixtures/sinkhorn_twin.py: the same closed-form scores, rank r holding rows r·B .. r·B + B - 1.
//   RANK=r WORLD_SIZE=w MASTER_ADDR=127.0.0.1 MASTER_PORT=p npx tsx test/support/sinkhorn-worker.ts
import * as u from '../../lib';

export const B = 6;
export const K = 5;
const ITERS = 3;
const EPS = 0.05;

/** [world·B, K] scores in [-1, 1], a closed form of (row, column), as the twin's. */
export function scores(world: number): u.Tensor {
  const i = u.arange(0, world * B, 1, { dtype: 'float64' }).unsqueeze(1);
  const k = u.arange(0, K, 1, { dtype: 'float64' }).unsqueeze(0);
  return i
    .mul(0.71)
    .add(k.mul(1.37))
    .sin()
    .mul(i.mul(0.13).sub(k.mul(0.29)).cos());
}

/** The codes of `s` by each form, with these Sinkhorn options (one process: none). */
export function codes(s: u.Tensor, over: u.SinkhornOptions): Record<string, number[]> {
  const vals = (t: u.Tensor) => Array.from(t.data() as Float64Array);
  const old = (stable: boolean) =>
    u.swavCodes(s, { ...over, variant: 'old', epsilon: EPS, iterations: ITERS, improveNumericalStability: stable });
  return {
    old: vals(old(false)),
    old_stable: vals(old(true)),
    new: vals(u.swavCodes(s, { ...over, variant: 'new', epsilon: EPS, iterations: ITERS })),
  };
}

async function main() {
  const group = await u.distributed.initProcessGroup({ timeoutMs: 20_000 });
  const { rank, worldSize } = group;
  const mine = scores(worldSize).narrow(0, rank * B, B);
  process.stdout.write(JSON.stringify({ rank, ...codes(mine, u.sinkhornOverRanks()) }) + '\n');
  u.distributed.destroyProcessGroup();
}

if (require.main === module) void main();
