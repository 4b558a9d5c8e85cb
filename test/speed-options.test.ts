// Speed options keep results: channels_last (SplitBatchNorm and the whole MoCo step), one forward of
// the mixture (mixedForwards 1, also checked against the reference twin in moco.test.ts), and the
// foreach updates against the reference's per-parameter loops.
import * as u from '../lib';
import { SplitBatchNorm2d } from '../lib/nn/layers';
import { MoCo } from '../lib/ssl/moco';
import { Rng } from '../lib/rng';
import { device } from './helpers';

test('SplitBatchNorm2d on a channels_last input: same output and running statistics, layout kept', () => {
  u.manualSeed(0);
  const x = u.randn([8, 4, 5, 5], { device, dtype: 'float64' });
  const a = new SplitBatchNorm2d(4, 2, { device }).to('float64');
  const b = new SplitBatchNorm2d(4, 2, { device }).to('float64');
  const ya = a.forward(x);
  const yb = b.forward(x.contiguous('channels_last'));
  expect(yb.isContiguous('channels_last')).toBe(true);
  expect(ya.sub(yb).abs().max().item()).toBeLessThan(1e-12);
  expect(a.stateDict()['running_var'].sub(b.stateDict()['running_var']).abs().max().item()).toBeLessThan(1e-12);
});

test.each([
  ['channelsLast', { channelsLast: true }],
  ['mixedForwards 1', { mixedForwards: 1 as const }],
])('MoCo + Un-Mix with %s: the same loss and gradients as the reference layout', (_name, option) => {
  const step = (extra: object) => {
    u.manualSeed(3);
    const moco = new MoCo({ preset: 'cifar', width: 8, dim: 8, K: 32, bnSplits: 2, device, ...extra }).to('float64');
    u.manualSeed(4);
    const x1 = u.randn([8, 3, 8, 8], { device, dtype: 'float64' });
    const x2 = u.randn([8, 3, 8, 8], { device, dtype: 'float64' });
    const { loss } = moco.trainingStep([x1, x2], {
      iteration: 0,
      epoch: 0,
      itersPerEpoch: 1,
      totalEpochs: 1,
      rng: new Rng(9),
    });
    loss.backward();
    const grads = moco.trainableParameters().map((p) => p.grad!.clone());
    return { loss: loss.item() as number, grads };
  };
  const ref = step({});
  const opt = step(option);
  expect(Math.abs(opt.loss - ref.loss)).toBeLessThan(1e-10 * Math.abs(ref.loss));
  expect(opt.grads.length).toBe(ref.grads.length);
  ref.grads.forEach((g, i) =>
    expect(opt.grads[i].sub(g).abs().max().item()).toBeLessThan(1e-9 * (g.abs().max().item() as number) + 1e-14),
  );
});

test("MoCo foreach false (the reference's per-parameter loops): the same key encoder and weights after two steps", () => {
  const train = (foreach: boolean) => {
    u.manualSeed(3);
    const moco = new MoCo({ preset: 'cifar', width: 8, dim: 8, K: 32, bnSplits: 2, device, foreach }).to('float64');
    const opt = new u.SGD(moco.trainableParameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, foreach });
    u.manualSeed(4);
    const x1 = u.randn([8, 3, 8, 8], { device, dtype: 'float64' });
    const x2 = u.randn([8, 3, 8, 8], { device, dtype: 'float64' });
    for (let iteration = 0; iteration < 2; iteration++) {
      u.scope(() => {
        const { loss } = moco.trainingStep([x1, x2], {
          iteration,
          epoch: 0,
          itersPerEpoch: 2,
          totalEpochs: 1,
          rng: new Rng(9 + iteration),
        });
        opt.zeroGrad();
        loss.backward();
        opt.step();
      });
    }
    return [...moco.encoderK.parameters(), ...moco.trainableParameters()].map((p) => p.toArray() as unknown);
  };
  expect(train(false)).toEqual(train(true));
});
