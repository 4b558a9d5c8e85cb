// One rank of a distributed test (test/distributed.test.ts): joins the default group from the
// torchrun-style environment, runs SCENARIO and prints one JSON line of what it saw.
//   RANK=r WORLD_SIZE=w MASTER_ADDR=127.0.0.1 MASTER_PORT=p npx tsx test/support/dist-worker.ts SCENARIO
import * as u from '../../lib';
import { gradInputs } from './grad-inputs';

const d = u.distributed;
const scenario = process.argv[2];
const out = (v: unknown) => process.stdout.write(JSON.stringify(v) + '\n');
const vals = (t: u.Tensor) => Array.from(t.data() as ArrayLike<number>, Number);

async function collectives(g: u.distributed.ProcessGroup) {
  const r = g.rank;
  const seen: Record<string, unknown> = {
    rank: r,
    worldSize: g.worldSize,
    getRank: d.getRank(),
    getWorldSize: d.getWorldSize(),
  };
  const s = u.tensor([1 + r, 10 * (r + 1), -r], { dtype: 'float64' });
  await g.allReduce(s, 'sum');
  seen.sum = vals(s);
  const a = u.tensor([1 + r, 3], { dtype: 'float32' });
  await g.allReduce(a, 'avg');
  seen.avg = vals(a);
  const m = u.tensor([r, -r], { dtype: 'int64' });
  await g.allReduce(m, 'max');
  seen.max = vals(m);
  const b = u.tensor([r + 0.5, r + 1.5], { dtype: 'float32' });
  await g.broadcast(b, g.worldSize - 1);
  seen.broadcast = vals(b);
  const outs = Array.from({ length: g.worldSize }, () => u.zeros([2], { dtype: 'float32' }));
  await g.allGather(outs, u.tensor([r, 100 + r], { dtype: 'float32' }));
  seen.allGather = outs.map(vals);
  seen.allGatherCat = vals(await g.allGatherCat(u.full([1, 2], r, { dtype: 'float32' })));
  const chunk = u.zeros([2], { dtype: 'float32' });
  await g.reduceScatter(chunk, u.arange(0, 2 * g.worldSize, 1, { dtype: 'float32' }).add(r));
  seen.reduceScatter = vals(chunk);
  await g.barrier();
  const errors: string[] = [];
  for (const bad of [
    () => g.allReduce(u.zeros([4, 4]).t()),
    () => g.allGather([u.zeros([2])], u.zeros([2])),
    () => g.allReduce(u.zeros([2]), 'mean' as never),
    () => g.broadcast(u.zeros([2]), 5),
  ]) {
    try {
      await bad();
      errors.push('no error');
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  seen.errors = errors;
  await g.barrier();
  return seen;
}

async function withGrad(g: u.distributed.ProcessGroup) {
  const { x, w, f } = gradInputs(g.rank);
  // allGatherWithGrad: loss = sum(gathered * coef), coef row i = i + 1; d loss / d f = rows of this rank, summed over ranks
  f.requiresGrad_(true);
  const gathered = await g.allGatherWithGrad(f);
  const coef = u.arange(1, 5, 1, { dtype: 'float64' }).reshape([4, 1]).expand([4, 3]);
  gathered.mul(coef).sum().backward();
  // SyncBatchNorm over the ranks' batches
  x.requiresGrad_(true);
  const bn = new u.distributed.SyncBatchNorm(4).to('float64');
  u.noGrad(() => {
    bn.weight!.copy_(u.tensor([0.5, 1.5, -1, 2], { dtype: 'float64' }));
    bn.bias!.copy_(u.tensor([0.1, 0.2, 0.3, 0.4], { dtype: 'float64' }));
  });
  const y = bn.forward(x);
  y.mul(w).sum().backward();
  return {
    gathered: vals(gathered.detach()),
    fGrad: vals(f.grad!),
    y: vals(y.detach()),
    xGrad: vals(x.grad!),
    weightGrad: vals(bn.weight!.grad!),
    biasGrad: vals(bn.bias!.grad!),
    runningMean: vals(bn.runningMean!),
    runningVar: vals(bn.runningVar!),
  };
}

async function main() {
  const timeoutMs = Number(process.env.UNMIX_TEST_TIMEOUT_MS ?? 20000);
  const t0 = Date.now();
  let g: u.distributed.ProcessGroup;
  try {
    g = await d.initProcessGroup({ timeoutMs, interface: 'lo' });
  } catch (e) {
    out({ initError: (e as Error).message, ms: Date.now() - t0 });
    return;
  }
  if (scenario === 'collectives') out(await collectives(g));
  else if (scenario === 'dead-peer') {
    // rank 1 leaves after the first allreduce; rank 0's second one must fail within the timeout
    const t = u.ones([4]);
    await g.allReduce(t);
    if (g.rank === 1) process.exit(0);
    const start = Date.now();
    try {
      await g.allReduce(t);
      out({ error: null });
    } catch (e) {
      out({ error: (e as Error).message, ms: Date.now() - start });
    }
  } else if (scenario === 'with-grad') out(await withGrad(g));
  else throw new Error(`unknown scenario ${scenario}`);
}

main().catch((e) => {
  out({ fatal: String((e as Error).stack ?? e) });
  process.exitCode = 1;
});
