// One rank of u.distributed.DistributedDataParallel: the twin of test/fixtures/ddp_twin.py (same
// model, initialisation, batches, no_sync micro-batch and SGD), printing the same JSON line.
import * as u from '../../lib';

const STEPS = 5;
const wave = (n: number, a: number, b: number, fn: 'sin' | 'cos' = 'sin') =>
  u.arange(0, n, 1, { dtype: 'float64' }).mul(a).add(b)[fn]();

function batch(step: number, rank: number, micro = 0): [u.Tensor, u.Tensor] {
  const x = wave(4 * 6, 0.11, step * 1.3 + rank * 0.7 + micro * 0.5, 'cos').reshape([4, 6]);
  const y = wave(4 * 3, 0.23, step + rank + micro * 0.25).reshape([4, 3]);
  return [x, y];
}

async function main() {
  const g = await u.distributed.initProcessGroup({ timeoutMs: 60000, interface: 'lo' });
  u.setNumThreads(1);
  const model = new u.Sequential(new u.Linear(6, 8), new u.BatchNorm1d(8), new u.ReLU(), new u.Linear(8, 3)).to(
    'float64',
  );
  u.noGrad(() =>
    model.parameters().forEach((p, i) =>
      p.copy_(
        wave(p.numel(), 0.37, i + 100 * g.rank)
          .mul(0.3)
          .reshape(p.shape),
      ),
    ),
  );
  const ddp = await u.distributed.DistributedDataParallel.create(model);
  const opt = new u.SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
  for (let step = 0; step < STEPS; step++) {
    opt.zeroGrad();
    if (step === 2)
      await ddp.noSync(() => {
        const [x, y] = batch(step, g.rank, 1);
        u.mseLoss(ddp.forward(x), y).backward();
      });
    const [x, y] = batch(step, g.rank);
    await ddp.backward(u.mseLoss(ddp.forward(x), y));
    opt.step();
  }
  const state = Object.fromEntries(
    Object.entries(model.stateDict())
      .filter(([, v]) => v.dtype.startsWith('float'))
      .map(([k, v]) => [k, Array.from(v.reshape([-1]).data() as Float64Array)]),
  );
  process.stdout.write(JSON.stringify({ rank: g.rank, state, buckets: ddp.bucketSizes }) + '\n');
}
main().catch((e) => {
  process.stdout.write(JSON.stringify({ fatal: String((e as Error).stack ?? e) }) + '\n');
  process.exitCode = 1;
});
