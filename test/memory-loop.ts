// A training-style loop for the memory test, run in its own process (node --expose-gc) so that
// RSS reflects only this loop. Prints one JSON line: live tensors and RSS at each checkpoint.
import * as u from '../lib';

declare const gc: () => void;
const device = (process.env.UNMIX_TEST_DEVICE ?? 'cpu') as u.Device;
const warmup = Number(process.argv[2] ?? 2000);
const measured = Number(process.argv[3] ?? 10000);
// --no-yield: never turn the event loop, to show what N-API's deferred finalizers hold meanwhile.
const yieldEvery = process.argv.includes('--no-yield') ? Infinity : 100;

async function main(): Promise<void> {
  u.manualSeed(0);
  const w = u.keep(u.randn([32, 64], { device, requiresGrad: true }).mul(0.1).detach().requiresGrad_());
  const b = u.keep(u.zeros([32], { device, requiresGrad: true }));
  const x = u.keep(u.randn([64, 64], { device }));
  const step = () =>
    u.scope(() => {
      const loss = u.linear(x, w, b).relu().square().mean();
      loss.backward();
      u.noGrad(() => {
        w.sub_(w.grad!, 0.01);
        b.sub_(b.grad!, 0.01);
      });
      w.grad = null;
      b.grad = null;
      return loss.item();
    });
  const settle = async () => {
    gc();
    await new Promise((r) => setImmediate(r));
  };
  const losses: number[] = [];
  const checkpoints: { step: number; live: number; bytes: number; rss: number }[] = [];
  for (let i = 1; i <= warmup + measured; i++) {
    losses.push(step());
    // A real loop awaits its data; N-API reclaims collected handles from the event loop.
    if (i % yieldEvery === 0) await new Promise((r) => setImmediate(r));
    if (i === warmup || i === warmup + measured) {
      if (yieldEvery === Infinity) gc();
      else await settle();
      const live = u.liveTensors();
      checkpoints.push({ step: i, live: live.count, bytes: live.bytes, rss: process.memoryUsage().rss });
    }
  }
  console.log(JSON.stringify({ checkpoints, firstLoss: losses[0], lastLoss: losses[losses.length - 1] }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
