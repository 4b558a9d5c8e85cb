// One rank of test/moco-ranks.test.ts (2 Gloo ranks): the ShuffleBN helpers on known tensors, then a
// tiny MoCo + Un-Mix at worldSize 2 trained a few steps under DDP (buffers not broadcast, so only the
// key gather can make the queues agree), each rank on its own data.
//   RANK=r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=p npx tsx test/support/moco-rank.ts
import * as u from '../../lib';
import { MoCo } from '../../lib/ssl/moco';
import { batchShuffleDdp, batchUnshuffleDdp } from '../../lib/ssl/moco-ddp';
import { Rng } from '../../lib/rng';

const STEPS = 3;
const vals = (t: u.Tensor) => Array.from(t.contiguous().data() as Float32Array);

async function main() {
  const g = await u.distributed.initProcessGroup({ timeoutMs: 30000, interface: 'lo' });
  u.setNumThreads(1);
  const r = g.rank;

  // rank r's rows are 10r + (0..3); each rank offers its own permutation, rank 0's must win
  const x = u
    .arange(0, 4, 1, { dtype: 'float32' })
    .add(10 * r)
    .reshape([4, 1])
    .expand([4, 2])
    .contiguous();
  const perm = r === 0 ? Int32Array.from([5, 2, 7, 0, 3, 6, 1, 4]) : Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
  const shuffled = batchShuffleDdp(g, x, perm);
  const back = batchUnshuffleDdp(g, shuffled.x.mul(2), shuffled.unshuffle);

  u.manualSeed(1); // the same initialisation and queue on both ranks (DDP would copy rank 0's anyway)
  const moco = new MoCo({ width: 4, dim: 8, K: 32, bnSplits: 1, worldSize: 2, rank: r });
  const initialQueue = vals(moco.queue);
  const ddp = await u.distributed.DistributedDataParallel.create(moco, { broadcastBuffers: false });
  const opt = new u.SGD(moco.trainableParameters(), { lr: 0.05, momentum: 0.9 });
  const losses: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    u.manualSeed(100 + 10 * step + r); // each rank its own images
    const views = [u.randn([4, 3, 8, 8]), u.randn([4, 3, 8, 8])];
    // the same draws on every rank, as the trainer's Rng.derive(seed, stream, iteration) gives
    const { loss } = moco.trainingStep(views, {
      iteration: step,
      epoch: 0,
      itersPerEpoch: STEPS,
      totalEpochs: 1,
      rng: Rng.derive(7, step),
    });
    opt.zeroGrad();
    await ddp.backward(loss);
    opt.step();
    losses.push(loss.item() as number);
  }
  process.stdout.write(
    JSON.stringify({
      rank: r,
      shuffled: vals(shuffled.x),
      unshuffle: Array.from(shuffled.unshuffle.data() as BigInt64Array, Number),
      back: vals(back),
      queue: vals(moco.queue),
      initialQueue,
      ptr: moco.queuePtr,
      weights: vals(moco.encoderQ.fc.parameters()[0]),
      keyWeights: vals(moco.encoderK.fc.parameters()[0]),
      losses,
    }) + '\n',
  );
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ fatal: String((e as Error).stack ?? e) }) + '\n');
  process.exitCode = 1;
});
