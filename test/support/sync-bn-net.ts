// The net and batch of the convertSyncBatchnorm test (test/sync-batch-norm.test.ts), built alike
// by each rank (test/support/sync-bn-worker.ts) and by the test's one-process reference.
import * as u from '../../lib';

/** float64 width-4 CIFAR ResNet-18 (BatchNorm2d in fields, arrays, Downsample) + Linear + BatchNorm1d. */
export function syncBnNet(): u.Sequential {
  u.manualSeed(7);
  const net = new u.Sequential(
    u.resnet18({ width: 4, stem: 'cifar' }),
    new u.Linear(32, 6),
    new u.BatchNorm1d(6, { momentum: 0.3 }),
  ).to('float64');
  // non-trivial affine parameters, so their gradients are checked through the normalisation
  u.noGrad(() => {
    for (const [name, t] of net.namedParameters())
      if (/bn\d?\.|downsample\.1\.|^2\./.test(name)) t.copy_(u.randn(t.shape, { dtype: 'float64' }).mul(0.5).add(1));
  });
  return net;
}

/** The whole batch: images [4, 3, 8, 8] and the output weights of the loss sum(y * w). */
export function syncBnBatch(): { x: u.Tensor; w: u.Tensor } {
  const g = new u.Generator().manualSeed(11);
  return {
    x: u.randn([4, 3, 8, 8], { dtype: 'float64', generator: g }),
    w: u.randn([4, 6], { dtype: 'float64', generator: g }),
  };
}
