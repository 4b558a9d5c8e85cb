// How OpenMP's wait policy affects a training step, alone and with a second training process on the
// same cores (what CI, notebooks next to a run, or two runs at once look like):
//   npx tsx bench/omp-wait.ts
// Each figure is ms per step of a width-16 ResNet-18 (batch 64, forward + backward), median of 15,
// in a fresh process started with that OMP_WAIT_POLICY (libgomp reads it once, at load).
import { execFileSync, spawn } from 'child_process';
import * as u from '../lib';

const STEPS = 15;

function measure(): void {
  const net = u.resnet18({ stem: 'cifar', width: 16, numClasses: 10 });
  const x = u.randn([64, 3, 32, 32]);
  const y = u.randint(0, 10, [64]);
  const step = () => u.scope(() => u.crossEntropy(net.forward(x), y).backward());
  step();
  const times: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const start = performance.now();
    step();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  console.log(times[Math.floor(STEPS / 2)].toFixed(1));
}

function child(policy: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', __filename, '--child'], {
      env: { ...process.env, OMP_WAIT_POLICY: policy },
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('close', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`child exited ${code}`))));
  });
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) return measure();
  console.log(
    `ms per ResNet-18 (width 16, batch 64) training step, ${u.getNumThreads()} threads, ${execFileSync('nproc').toString().trim()} cores`,
  );
  for (const policy of ['ACTIVE', 'PASSIVE']) {
    const alone = await child(policy);
    const [a, b] = await Promise.all([child(policy), child(policy)]);
    console.log(
      `OMP_WAIT_POLICY=${policy}: alone ${alone.toFixed(1)}, two processes at once ${a.toFixed(1)} and ${b.toFixed(1)}`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
