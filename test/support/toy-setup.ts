// The toy method, data and optimizer shared by the trainer tests and test/support/train-toy.ts.
import * as u from '../../lib';
import { TensorImageSet } from '../../lib/data/dataset';
import { Loader } from '../../lib/data/loader';
import { mocoCifar } from '../../lib/data/presets';
import { ToyMethod } from './toy-method';

export function toySetup(device: u.Device = 'cpu') {
  u.manualSeed(42);
  const n = 48;
  const images = u.rand([n, 3, 8, 8], { device }).mul(255).to('uint8');
  const set: TensorImageSet = {
    kind: 'tensor',
    format: 'synthetic',
    split: 'train',
    images,
    labels: u.zeros([n], { dtype: 'int64', device }),
    classes: ['a'],
  };
  const loader = new Loader(set, { batchSize: 8, views: mocoCifar({ size: 8 }), seed: 5 });
  const method = new ToyMethod(3 * 8 * 8).to(device);
  const optimizer = new u.SGD(method.trainableParameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  return { method, loader, optimizer };
}
