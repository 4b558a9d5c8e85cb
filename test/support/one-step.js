// Run inside an app that installed the packed package (test/package.test.ts): `require('unmix')`
// as a user would, then one MoCo + Un-Mix training step on the embedded synthetic data, printing
// the loss and whether the weights moved. Plain CommonJS: it must run with no TypeScript tooling.
const u = require('unmix');

async function main() {
  u.manualSeed(0);
  const train = u.syntheticDataset({ split: 'train', size: 16, perClass: 4 });
  const loader = new u.Loader(train, { batchSize: 16, views: u.presets.mocoCifar({ size: 16 }), seed: 0 });
  const method = new u.MoCo({ preset: 'cifar', width: 4, dim: 16, K: 64, bnSplits: 2 });
  const optimizer = new u.SGD(method.trainableParameters(), { lr: 0.06, momentum: 0.9, weightDecay: 5e-4 });
  const before = method.trainableParameters()[0].clone();
  for await (const batch of loader.epoch(0)) {
    const ctx = { iteration: 0, epoch: 0, itersPerEpoch: 1, totalEpochs: 1, rng: new u.Rng(1) };
    const { loss } = method.trainingStep(batch.views, ctx);
    optimizer.zeroGrad();
    loss.backward();
    method.beforeOptimizerStep(ctx);
    optimizer.step();
    method.afterOptimizerStep(ctx);
    const moved = method.trainableParameters()[0].sub(before).abs().max().item();
    console.log(JSON.stringify({ loss: loss.item(), moved }));
    break;
  }
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
