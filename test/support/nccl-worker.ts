// One rank of the NCCL test (test/distributed-nccl.test.ts): joins the default group with
// backend 'nccl' from the torchrun-style environment, on cuda:LOCAL_RANK, runs the collectives and
// prints one JSON line of what it saw.
import * as u from '../../lib';

const out = (v: unknown) => process.stdout.write(JSON.stringify(v) + '\n');
const vals = (t: u.Tensor) => Array.from(t.to('cpu').data() as ArrayLike<number>, Number);

async function main() {
  const g = await u.distributed.initProcessGroup({
    backend: 'nccl',
    timeoutMs: Number(process.env.UNMIX_TEST_TIMEOUT_MS) || 30000,
  });
  const device = `cuda:${Number(process.env.LOCAL_RANK ?? g.rank)}` as u.Device;
  const on = (t: u.Tensor) => t.to(device);
  const r = g.rank;
  const seen: Record<string, unknown> = { rank: r, worldSize: g.worldSize, backend: g.backend, device: g.device };
  const s = on(u.tensor([1 + r, 10 * (r + 1), -r], { dtype: 'float64' }));
  await g.allReduce(s, 'sum');
  seen.sum = vals(s);
  const a = on(u.tensor([1 + r, 3], { dtype: 'float32' }));
  await g.allReduce(a, 'avg');
  seen.avg = vals(a);
  const b = on(u.tensor([r + 0.5, r + 1.5], { dtype: 'float32' }));
  await g.broadcast(b, g.worldSize - 1);
  seen.broadcast = vals(b);
  const outs = Array.from({ length: g.worldSize }, () => on(u.zeros([2], { dtype: 'float32' })));
  await g.allGather(outs, on(u.tensor([r, 100 + r], { dtype: 'float32' })));
  seen.allGather = outs.map(vals);
  const chunk = on(u.zeros([2], { dtype: 'float32' }));
  await g.reduceScatter(chunk, on(u.arange(0, 2 * g.worldSize, 1, { dtype: 'float32' }).add(r)));
  seen.reduceScatter = vals(chunk);
  await g.barrier();
  try {
    await g.allReduce(u.zeros([2]));
    seen.cpuError = 'no error';
  } catch (e) {
    seen.cpuError = (e as Error).message;
  }
  await g.barrier();
  out(seen);
}

main().catch((e) => {
  out({ error: (e as Error).message });
  process.exitCode = 1;
});
