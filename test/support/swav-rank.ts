// One rank of test/swav-ranks.test.ts: a tiny SwAV built as the examples build it (buildSwav) at
// 2 ranks, with the sync_bn of the SYNC_BN variable; one training step on this rank's own images.
// Prints the norm layers' classes, the loss and the backbone's first BN statistics.
import * as u from '../../lib';
import { buildSwav, SwavArgs } from '../../lib/train/methods';

async function main() {
  const group = await u.distributed.initProcessGroup({ timeoutMs: 60_000 });
  u.setNumThreads(1);
  u.manualSeed(1);
  const args: SwavArgs = {
    arch: 'resnet18',
    width: 4,
    hidden_mlp: 16,
    feat_dim: 8,
    nmb_prototypes: 6,
    crops_for_assign: [0, 1],
    temperature: 0.1,
    epsilon: 0.05,
    sinkhorn_iterations: 3,
    queue_length: 0,
    batch_size: 4,
    epoch_queue_starts: 15,
    freeze_prototypes_niters: 0,
    unmix_prob: 0.5,
    unmix_beta: 1,
    run_swav: true,
    sync_bn: process.env.SYNC_BN as 'pytorch' | 'none',
  };
  const method = buildSwav(args, 'cifar', 'cpu', group.worldSize);
  method.train();
  const norms = [...new Set(method.namedModules().map(([, m]) => m.constructor.name))].filter((n) => /Norm/.test(n));
  const views = [0, 1].map((v) =>
    u
      .arange(0, 4 * 3 * 16 * 16, 1, { dtype: 'float32' })
      .mul(0.011 + v * 0.003)
      .add(group.rank * 2.1 + v)
      .sin()
      .reshape([4, 3, 16, 16]),
  );
  const { loss } = method.stepWith(views, null, { epoch: 0 });
  loss.backward();
  const mean = method.namedBuffers().find(([k]) => k === 'backbone.bn1.running_mean')![1];
  const out = { rank: group.rank, norms, loss: loss.item(), bnMean: Array.from(mean.data() as Float32Array) };
  process.stdout.write(JSON.stringify(out) + '\n');
  u.distributed.destroyProcessGroup();
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
