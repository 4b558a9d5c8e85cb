// Modules and SGD against PyTorch (test/fixtures/nn.json, made by
// test/fixtures/make_nn_fixtures.py with the torch of the LibTorch under test; support/python.ts). Tolerance: float32 rtol 1e-5, atol 1e-6
// (one stated exception below).
import * as fs from 'fs';
import * as u from '../lib';
import { device } from './helpers';
import { torchFixture } from './support/python';

interface T {
  dtype: string;
  shape: number[];
  data: number[];
}
const fixture = JSON.parse(fs.readFileSync(torchFixture('nn.json', 'make_nn_fixtures.py'), 'utf8'));
const load = (t: T) =>
  u.tensor(t.dtype === 'int64' ? new BigInt64Array(t.data.map(BigInt)) : new Float32Array(t.data), {
    shape: t.shape,
    device,
  });

function expectClose(actual: u.Tensor, expected: T, what: string, rtol = 1e-5, atol = 1e-6) {
  expect({ what, shape: actual.shape }).toEqual({ what, shape: expected.shape });
  const a = Array.from(actual.data() as ArrayLike<number | bigint>, Number);
  a.forEach((v, i) => {
    const e = expected.data[i];
    if (Math.abs(v - e) > atol + rtol * Math.abs(e)) throw new Error(`${what}[${i}]: ${v} vs PyTorch ${e}`);
  });
}

const net = () =>
  new u.Sequential(
    new u.Linear(4, 3, { device }),
    new u.BatchNorm1d(3, { device }),
    new u.ReLU(),
    new u.Linear(3, 2, { device }),
  );

describe('modules', () => {
  test('state dict keys, shapes and parameter counts match torch.nn', () => {
    const m = net();
    const keys = Object.keys(m.stateDict()).sort();
    expect(keys).toEqual(Object.keys(fixture.mlp.state).sort());
    for (const k of keys) expect(m.stateDict()[k].shape).toEqual(fixture.mlp.state[k].shape);
    expect(m.numParameters()).toBe(4 * 3 + 3 + 3 + 3 + 3 * 2 + 2);
    expect(m.stateDict()['1.num_batches_tracked'].dtype).toBe('int64');
  });

  test('train-mode forward, gradients and running statistics equal PyTorch', () => {
    const m = net();
    m.loadStateDict(Object.fromEntries(Object.entries(fixture.mlp.state).map(([k, v]) => [k, load(v as T)])));
    const out = m.forward(load(fixture.mlp.x));
    expectClose(out, fixture.mlp.train_out, 'train output');
    out.mul(load(fixture.mlp.g)).sum().backward();
    for (const [name, p] of m.namedParameters()) expectClose(p.grad!, fixture.mlp.grads[name], `grad of ${name}`);
    for (const [name, b] of m.namedBuffers()) expectClose(b, fixture.mlp.buffers_after[name], name);
    m.eval();
    expectClose(
      u.noGrad(() => m.forward(load(fixture.mlp.x))),
      fixture.mlp.eval_out,
      'eval output',
    );
  });

  test('SplitBatchNorm2d (interleaved splits, averaged running stats) equals the MoCo demo', () => {
    const c = fixture.split_bn;
    const conv = new u.Conv2d(3, 4, 3, { padding: 1, bias: false, device });
    const bn = new u.SplitBatchNorm2d(4, 4, { device });
    const m = new u.Sequential(conv, bn);
    m.loadStateDict(
      Object.fromEntries(
        Object.entries(c.state).map(([k, v]) => [k.replace('conv.', '0.').replace('bn.', '1.'), load(v as T)]),
      ),
    );
    const out = m.forward(load(c.x));
    expectClose(out, c.train_out, 'train output');
    out.mul(load(c.g)).sum().backward();
    // Each conv weight gradient sums 200 products through the batch-norm backward; float32
    // reduction order differs from PyTorch's run here, so this one value gets rtol 1e-4, atol 1e-5.
    expectClose(conv.weight.grad!, c.grads['conv.weight'], 'conv weight grad', 1e-4, 1e-5);
    expectClose(bn.weight!.grad!, c.grads['bn.weight'], 'bn weight grad');
    expectClose(bn.bias!.grad!, c.grads['bn.bias'], 'bn bias grad');
    expectClose(bn.runningMean!, c.buffers_after['bn.running_mean'], 'running_mean');
    expectClose(bn.runningVar!, c.buffers_after['bn.running_var'], 'running_var');
    expectClose(
      m.stateDict()['1.num_batches_tracked'],
      c.buffers_after['bn.num_batches_tracked'],
      'num_batches_tracked',
    );
    m.eval();
    expectClose(
      u.noGrad(() => m.forward(load(c.x))),
      c.eval_out,
      'eval output',
    );
    expect(() => bn.train().forward(u.zeros([6, 4, 2, 2], { device }))).toThrow(
      /batch size 6 is not a multiple of the 4 splits/,
    );
  });

  test('default initialisation follows torch.nn.Linear (uniform ±1/√fan_in)', () => {
    const layer = new u.Linear(400, 300, { device });
    const bound = 1 / Math.sqrt(400);
    expect(layer.weight.abs().max().item()).toBeLessThanOrEqual(bound * (1 + 1e-6)); // float32 rounding of ±bound
    expect(layer.weight.abs().max().item()).toBeGreaterThan(0.99 * bound);
    expect(Math.abs(layer.weight.mean().item())).toBeLessThan(0.01 * bound * 10);
    expect(layer.weight.requiresGrad).toBe(true);
  });

  test('loadStateDict names missing, unexpected and wrongly shaped keys and copies nothing then', () => {
    const m = net();
    const before = (m.stateDict()['0.weight'].toArray() as number[][])[0][0];
    const state: u.StateDict = {
      ...m.stateDict(),
      extra: u.ones([1], { device }),
      '3.weight': u.ones([5, 5], { device }),
    };
    delete state['0.bias'];
    state['0.weight'] = u.zeros([3, 4], { device });
    expect(() => m.loadStateDict(state)).toThrow(
      /missing keys: 0\.bias; unexpected keys: extra; wrong shapes: 3\.weight: expected \[2, 3\], got \[5, 5\]/,
    );
    expect((m.stateDict()['0.weight'].toArray() as number[][])[0][0]).toBe(before);
    delete state.extra;
    state['3.weight'] = u.ones([2, 3], { device });
    expect(m.loadStateDict(state, { strict: false })).toEqual({ missing: ['0.bias'], unexpected: [] });
    expect((m.stateDict()['0.weight'].toArray() as number[][])[0][0]).toBe(0);
  });

  test('train/eval, zeroGrad, to(dtype) and mlp heads', () => {
    const m = net().eval();
    expect(m.namedModules().every(([, x]) => !x.training)).toBe(true);
    m.train();
    m.forward(u.randn([4, 4], { device }))
      .sum()
      .backward();
    expect(m.parameters().every((p) => p.grad !== null)).toBe(true);
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
    m.to('float64');
    expect(m.parameters().every((p) => p.dtype === 'float64' && p.requiresGrad)).toBe(true);
    expect(m.stateDict()['1.num_batches_tracked'].dtype).toBe('int64');
    const head = u.mlp([8, 16, 4], { device });
    expect(Object.keys(head.stateDict())).toEqual([
      '0.weight',
      '1.weight',
      '1.bias',
      '3.weight',
      '3.bias',
      '1.running_mean',
      '1.running_var',
      '1.num_batches_tracked',
    ]);
    expect(head.forward(u.randn([5, 8], { device })).shape).toEqual([5, 4]);
  });

  test('a training loop over a module does not leak tensors', async () => {
    const m = net();
    const opt = new u.SGD(m.parameters(), { lr: 0.01, momentum: 0.9 });
    const x = u.randn([8, 4], { device });
    const step = () =>
      u.scope(() => {
        opt.zeroGrad();
        m.forward(x).square().mean().backward();
        opt.step();
      });
    for (let i = 0; i < 5; i++) step();
    const live = u.liveTensors().count;
    for (let i = 0; i < 200; i++) step();
    expect(u.liveTensors().count).toBe(live);
  });
});

describe('SGD', () => {
  test.each(fixture.sgd.map((c: { name: string }) => [c.name, c]) as [string, any][])(
    '%s: 5-step trajectory equals torch.optim.SGD',
    (_name, c) => {
      const x = load(c.x);
      const y = load(c.y);
      const params = c.init.map((p: T) => load(p).requiresGrad_());
      const groups = c.groups.map((g: Record<string, number | boolean>, i: number) => ({
        params: [params[i]],
        lr: g.lr as number,
        momentum: g.momentum as number | undefined,
        dampening: g.dampening as number | undefined,
        weightDecay: g.weight_decay as number | undefined,
        nesterov: g.nesterov as boolean | undefined,
      }));
      const opt = new u.SGD(groups, { lr: 0.1 });
      c.steps.forEach((expected: T[], step: number) => {
        opt.zeroGrad();
        params
          .map((p: u.Tensor) => x.matmul(p).sub(y).square().mean())
          .reduce((a: u.Tensor, b: u.Tensor) => a.add(b))
          .backward();
        opt.step();
        params.forEach((p: u.Tensor, i: number) => expectClose(p, expected[i], `step ${step + 1} param ${i}`));
      });
    },
  );

  test('rejects invalid settings', () => {
    const p = u.zeros([2], { device, requiresGrad: true });
    expect(() => new u.SGD([p], { lr: -1 })).toThrow(/invalid learning rate/);
    expect(() => new u.SGD([p], { lr: 0.1, nesterov: true })).toThrow(/Nesterov momentum requires a momentum/);
  });
});
