// One rank of test/trainer-ranks.test.ts: the toy setup trained by the Trainer under the default
// group (2 Gloo ranks), with rank 1's initial weights changed (DDP must replace them by rank 0's).
//   RANK=r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=p npx tsx test/support/trainer-rank.ts DIR
// Runs: a straight 2-epoch run in DIR/straight-<rank> (a folder per rank, to see which rank writes), then
// 1 epoch in DIR/shared and a resume of it to 2 epochs (the folder shared, as on one filesystem), a run
// that rank 1 alone is asked to stop mid-epoch and its resume, and a start refused by rank 0.
import * as u from '../../lib';
import { Trainer } from '../../lib/train/trainer';
import { toySetup } from './toy-setup';

const out = (v: unknown) => process.stdout.write(JSON.stringify(v) + '\n');

function weights(method: u.Module): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(method.stateDict()).map(([k, t]) => [k, Array.from(t.data() as Float32Array)]),
  );
}

async function train(rank: number, dir: string, epochs: number, resume = false, stopRank1At?: number) {
  const setup = toySetup();
  if (rank === 1) u.noGrad(() => setup.method.encoder.weight.add_(1));
  const lines: string[] = [];
  // rank 1 alone is asked to stop (its signal aborted during a step): both ranks must stop after that step
  const stop = new AbortController();
  if (rank === 1 && stopRank1At !== undefined)
    setup.method.onStep = (ctx) => void (ctx.iteration === stopRank1At && stop.abort());
  const trainer = new Trainer({
    signal: stop.signal,
    ...setup,
    lr: () => 0.05,
    epochs,
    resultsDir: dir,
    seed: 3,
    resume,
    progress: true,
    log: (l) => lines.push(l),
  });
  const result = await trainer.run();
  return {
    weights: weights(setup.method),
    history: result.history.map((r) => ({ ...r, seconds: 0, images_per_s: 0 })),
    interrupted: result.interrupted,
    stoppedBy: result.stoppedBy ?? null,
    lines,
    shard: setup.loader.shard,
    steps: setup.method.stepsSeen,
  };
}

async function main() {
  const dir = process.argv[2];
  const g = await u.distributed.initProcessGroup({ timeoutMs: 30000, interface: 'lo' });
  u.setNumThreads(1);
  const straight = await train(g.rank, `${dir}/straight-${g.rank}`, 2);
  await train(g.rank, `${dir}/shared`, 1);
  await g.barrier(); // rank 0's first run has released the folder's lock
  const resumed = await train(g.rank, `${dir}/shared`, 2, true);
  await g.barrier();
  const stopped = await train(g.rank, `${dir}/stopped`, 2, false, 4);
  await g.barrier();
  const afterStop = await train(g.rank, `${dir}/stopped`, 2, true);
  await g.barrier();
  // the folder holds a run and neither resume nor overwrite is given: rank 0 refuses, rank 1 hears of it
  let taken = '';
  try {
    await train(g.rank, `${dir}/shared`, 2);
  } catch (e) {
    taken = (e as Error).message;
  }
  let unsharded = '';
  try {
    const setup = toySetup();
    const loader = new u.Loader(setup.loader.dataset, {
      batchSize: 8,
      views: setup.loader.viewSpecs.slice(),
      shard: false,
    });
    new Trainer({ ...setup, loader, lr: () => 0.05, epochs: 1, resultsDir: `${dir}/never` });
  } catch (e) {
    unsharded = (e as Error).message;
  }
  out({ rank: g.rank, straight, resumed, stopped, afterStop, taken, unsharded });
}

main().catch((e) => {
  out({ fatal: String((e as Error).stack ?? e) });
  process.exitCode = 1;
});
