// A toy training run in its own process, for the Ctrl-C and kill tests of test/trainer.test.ts:
//   npx tsx test/support/train-toy.ts RESULTS_DIR EPOCHS [--resume] [--announce]
// With --announce it prints "step N" at every step, so the parent can signal it at a known point.
import * as u from '../../lib';
import { Trainer } from '../../lib/train/trainer';
import { toySetup } from './toy-setup';

async function main() {
  const [dir, epochs] = process.argv.slice(2);
  const { method, loader, optimizer } = toySetup();
  if (process.argv.includes('--announce')) method.onStep = (ctx) => process.stdout.write(`step ${ctx.iteration}\n`);
  const trainer = new Trainer({
    method,
    loader,
    optimizer,
    lr: () => 0.05,
    epochs: Number(epochs),
    resultsDir: dir,
    seed: 3,
    resume: process.argv.includes('--resume'),
    progress: false,
    log: (l) => process.stdout.write(l + '\n'),
  });
  const result = await trainer.run();
  u.saveSafetensors(`${dir}/final.safetensors`, method.stateDict());
  process.stdout.write(`done interrupted=${result.interrupted}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
