// One rank of SimCLR's loss with negatives from every rank (test/simclr-ranks.test.ts), the twin of
// test/fixtures/simclr_gather_twin.py: the same Linear, closed-form views, the loss and the weight's
// gradient; then, in eval mode (so BatchNorm is per sample), a SimCLR step's loss for the identity
// with one process.
//   RANK=r WORLD_SIZE=w MASTER_ADDR=127.0.0.1 MASTER_PORT=p npx tsx test/support/simclr-gather-worker.ts
import * as u from '../../lib';

export const N = 4;
const [D_IN, D_OUT, T] = [6, 5, 0.2];
const wave = (n: number, a: number, b: number, fn: 'sin' | 'cos' = 'sin') =>
  u.arange(0, n, 1, { dtype: 'float64' }).mul(a).add(b)[fn]();

/** The method-level check's views of `rank` (8×8 images) and its tiny SimCLR, the same on every rank. */
export function tinySimclr(): u.SimCLR {
  u.manualSeed(3);
  return new u.SimCLR({ backbone: { width: 4 }, projHiddenDim: 16, projOutputDim: 8, unmix: { enabled: false } });
}
export function views(rank: number): u.Tensor[] {
  return [0, 1].map((v) =>
    wave(N * 3 * 8 * 8, 0.05 + v * 0.01, rank * 3.1 + v)
      .reshape([N, 3, 8, 8])
      .float(),
  );
}

async function main() {
  const group = await u.distributed.initProcessGroup({ timeoutMs: 20_000 });
  const { rank } = group;
  const weight = wave(D_OUT * D_IN, 0.41, 0.3)
    .mul(0.5)
    .reshape([D_OUT, D_IN])
    .requiresGrad_(true);
  const x1 = wave(N * D_IN, 0.17, 1.1 + rank * 2.3).reshape([N, D_IN]);
  const x2 = wave(N * D_IN, 0.19, 0.4 + rank * 1.7, 'cos').reshape([N, D_IN]);
  const [z1, z2] = [x1, x2].map((x) => x.mm(weight.t()));
  const [all1, all2] = [z1, z2].map((z) => group.allGatherWithGrad(z, { now: true }));
  const loss = u.ntXentGathered(z1, z2, all1, all2, rank, T);
  loss.backward();
  const method = tinySimclr().eval();
  const stepLoss = u.noGrad(() => method.stepWith(views(rank), null).loss.item());
  const grad = Array.from(weight.grad!.reshape([-1]).data() as Float64Array);
  process.stdout.write(JSON.stringify({ rank, loss: loss.item(), grad, stepLoss }) + '\n');
  u.distributed.destroyProcessGroup();
}

if (require.main === module) void main();
