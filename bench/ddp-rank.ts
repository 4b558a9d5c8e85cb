// One rank of bench/ddp-scaling.ts: SGD steps of the CIFAR-stem ResNet-18 (as bench/cases/resnet18-step.ts)
// under DistributedDataParallel on Gloo, on this rank's share of the global batch; rank 0 prints the
// median step time as JSON. Its twin: bench/ddp_rank.py.
//   RANK=r WORLD_SIZE=w MASTER_ADDR=127.0.0.1 MASTER_PORT=p npx tsx bench/ddp-rank.ts GLOBAL_BATCH STEPS
import * as u from '../lib';

async function main() {
  const [globalBatch, steps] = process.argv.slice(2).map(Number);
  const g = await u.distributed.initProcessGroup({ timeoutMs: 120_000, interface: 'lo' });
  const batch = globalBatch / g.worldSize;
  u.manualSeed(g.rank);
  const model = u.resnet18({ stem: 'cifar', numClasses: 10 });
  const ddp = await u.distributed.DistributedDataParallel.create(model);
  const opt = new u.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const x = u.randn([batch, 3, 32, 32]);
  const y = u.randint(0, 10, [batch]);
  const times: number[] = [];
  for (let s = 0; s < steps + 2; s++) {
    const t0 = performance.now();
    u.scope(() => opt.zeroGrad());
    await u.scope(async () => {
      await ddp.backward(u.crossEntropy(ddp.forward(x), y));
      opt.step();
    });
    if (s >= 2) times.push(performance.now() - t0); // two warm-up steps
  }
  times.sort((a, b) => a - b);
  if (g.rank === 0) process.stdout.write(JSON.stringify({ ms: times[times.length >> 1], batch }) + '\n');
  u.distributed.destroyProcessGroup();
}
main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
