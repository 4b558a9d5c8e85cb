// Data-parallel scaling on this machine at the same global batch: 1 process with every core against
// W processes (Gloo on loopback) with cores/W threads each, for unmix's DistributedDataParallel and
// torch's, on the same LibTorch (the python3 that provides it), alternating sides.
//   npx tsx bench/ddp-scaling.ts [--world 2] [--batch 64] [--steps 8] [--repeats 2] [--write]
// Prints (and with --write, puts in BENCHMARKS.md) a Markdown table: ms per step (median over steps, best of the repeats), images/s, the
// scaling (W processes' images/s over 1 process's) and PyTorch ms / unmix ms.
import { spawn } from 'child_process';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Command } from 'commander';
import * as u from '../lib';
import { findPython } from './cases/harness';
import { writeSection } from './cases/report';

const o = new Command('ddp-scaling.ts')
  .option('--world <n>', 'processes of the parallel run', Number, 2)
  .option('--batch <n>', 'global batch (divided among the processes)', Number, 64)
  .option('--steps <n>', 'timed steps per run (after 2 warm-up steps)', Number, 8)
  .option('--repeats <n>', 'runs per configuration (the best is kept)', Number, 2)
  .option('--write', "write the table into BENCHMARKS.md (this device's data-parallel section)")
  .parse()
  .opts<{ world: number; batch: number; steps: number; repeats: number; write?: boolean }>();

const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });

/** Runs `world` ranks of `command args`; resolves with rank 0's JSON line. */
async function ranks(command: string, args: string[], world: number, threads: number): Promise<{ ms: number }> {
  const port = await freePort();
  const runs = [...Array(world).keys()].map(
    (rank) =>
      new Promise<string>((resolve, reject) => {
        const env = {
          ...process.env,
          RANK: String(rank),
          LOCAL_RANK: String(rank),
          WORLD_SIZE: String(world),
          MASTER_ADDR: '127.0.0.1',
          MASTER_PORT: String(port),
          UNMIX_NUM_THREADS: String(threads),
          OMP_NUM_THREADS: String(threads),
        };
        const child = spawn(command, args, { env, cwd: __dirname, stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (b) => (out += b));
        child.on('close', (code) =>
          code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')}: rank ${rank} exited ${code}`)),
        );
      }),
  );
  const outs = await Promise.all(runs);
  return JSON.parse(outs[0].trim().split('\n').pop()!);
}

async function main() {
  const { exe: python, torch } = findPython();
  const cores = os.availableParallelism();
  const sides = {
    unmix: (w: number) =>
      ranks(process.execPath, ['--import', 'tsx', 'ddp-rank.ts', String(o.batch), String(o.steps)], w, cores / w),
    pytorch: (w: number) => ranks(python, ['ddp_rank.py', String(o.batch), String(o.steps)], w, cores / w),
  };
  const best: Record<string, number> = {};
  for (let r = 0; r < o.repeats; r++) {
    for (const w of [1, o.world]) {
      for (const [side, run] of Object.entries(sides)) {
        const { ms } = await run(w);
        const key = `${side} ${w}`;
        best[key] = Math.min(best[key] ?? Infinity, ms);
        process.stderr.write(`repeat ${r + 1}: ${key} process(es): ${ms.toFixed(1)} ms/step\n`);
      }
    }
  }
  const ips = (ms: number) => (o.batch / ms) * 1000;
  const rows = [
    `## Data-parallel scaling, CPU, LibTorch ${u.info().libtorch}`,
    '',
    `ResNet-18 (CIFAR stem) SGD step, global batch ${o.batch}, ${cores} cores, Gloo on loopback, LibTorch ${u.info().libtorch} / PyTorch ${torch} (${new Date().toISOString().slice(0, 10)}; \`npx tsx bench/ddp-scaling.ts --world ${o.world} --batch ${o.batch} --steps ${o.steps} --repeats ${o.repeats}\`)`,
    '',
    '| side | processes × threads | ms / step | images/s | scaling | PyTorch ms / unmix ms |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const w of [1, o.world]) {
    for (const side of ['unmix', 'pytorch']) {
      const ms = best[`${side} ${w}`];
      const scaling = ips(ms) / ips(best[`${side} 1`]);
      const ratio = best[`pytorch ${w}`] / best[`unmix ${w}`];
      rows.push(
        `| ${side} | ${w} × ${cores / w} | ${ms.toFixed(1)} | ${ips(ms).toFixed(1)} | ${scaling.toFixed(2)} | ${side === 'unmix' ? ratio.toFixed(2) : ''} |`,
      );
    }
  }
  console.log(rows.join('\n'));
  if (o.write)
    writeSection(
      path.join(__dirname, '..', 'BENCHMARKS.md'),
      `ddp-scaling-cpu-libtorch-${u.info().libtorch}`,
      rows.join('\n'),
    );
}
main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
