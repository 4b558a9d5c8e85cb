// One rank of test/byol-ranks.test.ts: a tiny BYOL + Un-Mix run of lib/train/solo.ts under the default
// group, DDP's buffer broadcast off (so only SyncBatchNorm keeps the BN statistics equal); prints one
// JSON line: every parameter and buffer after training and the normalisation classes used.
import * as os from 'os';
import * as path from 'path';
import * as u from '../../lib';
import { prepareSolo } from '../../lib/train/solo';

async function main() {
  await u.distributed.initProcessGroup({ timeoutMs: 20000, interface: 'lo' });
  u.manualSeed(u.distributed.getRank()); // different initial weights: DDP must give rank 0's to all
  const { method, trainer } = await prepareSolo({
    method: 'byol',
    example: 'byol-rank',
    ...{ arch: 'resnet18', width: 4, projHiddenDim: 16, projOutputDim: 8, predHiddenDim: 16, baseTau: 0.99 },
    ...{ unmix: true, prob: 0.5, beta: 1, epochs: 2, batchSize: 8, lr: 1, wd: 1e-5, warmupEpochs: 0, crop: 8 },
    ...{ knnK: 1, knnT: 0.1, knnEvery: 0, knnFeatures: 'backbone', data: 'synthetic', subset: 4 },
    ...{ seed: 3, device: 'cpu', resultsDir: path.join(process.argv[2] ?? os.tmpdir(), 'byol') },
    syncBatchNorm: process.env.SYNC_BN === '0' ? false : undefined, // the default: on under N ranks
    trainer: { itersPerEpoch: 2, progress: false, curves: false, overwrite: true, ddp: { broadcastBuffers: false } },
    log: () => {},
  });
  const result = await trainer.run();
  const state = method.stateDict();
  const out = {
    epochs: result.history.length,
    norms: method
      .namedModules()
      .filter(([, m]) => /Norm/.test(m.constructor.name))
      .map(([k, m]) => `${k}:${m.constructor.name}`),
    state: Object.fromEntries(
      Object.entries(state).map(([k, t]) => [k, Array.from(t.data() as ArrayLike<number>, Number)]),
    ),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ fatal: String((e as Error).stack ?? e) }) + '\n');
  process.exitCode = 1;
});
