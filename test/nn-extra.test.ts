// Dropout, MaxPool2d, AvgPool2d, LayerNorm, GELU, Embedding and module printing against PyTorch
// (test/fixtures/nn_extra.json, made by test/fixtures/make_nn_extra_fixtures.py with the torch of
// the LibTorch under test; support/python.ts). Tolerance: float32 rtol 1e-5, atol 1e-6.
import * as fs from 'fs';
import { inspect } from 'util';
import * as u from '../lib';
import { device } from './helpers';
import { torchFixture } from './support/python';

interface T {
  dtype: string;
  shape: number[];
  data: number[];
}
interface LayerCase {
  name: string;
  state: Record<string, T>;
  x: T;
  g: T;
  out: T;
  x_grad: T | null;
  grads: Record<string, T>;
}
const fixture = JSON.parse(fs.readFileSync(torchFixture('nn_extra.json', 'make_nn_extra_fixtures.py'), 'utf8'));
const load = (t: T, on: u.Device = device) =>
  u.tensor(t.dtype === 'int64' ? new BigInt64Array(t.data.map(BigInt)) : new Float32Array(t.data), {
    shape: t.shape,
    device: on,
  });

let worst = 0;
function expectClose(actual: u.Tensor, expected: T, what: string, rtol = 1e-5, atol = 1e-6) {
  expect({ what, shape: actual.shape }).toEqual({ what, shape: expected.shape });
  Array.from(actual.data() as ArrayLike<number>, Number).forEach((v, i) => {
    const e = expected.data[i];
    worst = Math.max(worst, Math.abs(v - e));
    if (!(Math.abs(v - e) <= atol + rtol * Math.abs(e))) throw new Error(`${what}[${i}]: ${v} vs PyTorch ${e}`);
  });
}

const modules: Record<string, () => u.Module> = {
  dropout: () => new u.Dropout(0.3),
  max_pool: () => new u.MaxPool2d(3, { stride: 2, padding: 1 }),
  max_pool_ceil: () => new u.MaxPool2d(2, { ceilMode: true }),
  avg_pool: () => new u.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }),
  avg_pool_default: () => new u.AvgPool2d(2),
  layer_norm: () => new u.LayerNorm([4, 5], { device }),
  layer_norm_eps: () => new u.LayerNorm(5, { eps: 1e-3, elementwiseAffine: false, device }),
  gelu: () => new u.GELU(),
  gelu_tanh: () => new u.GELU({ approximate: 'tanh' }),
  embedding: () => new u.Embedding(10, 3, { paddingIdx: 0, device }),
};

describe('layers: outputs and gradients equal torch.nn', () => {
  afterAll(() => console.log(`nn-extra: max |unmix - PyTorch| over outputs and gradients: ${worst.toExponential(2)}`));
  for (const c of fixture.layers as LayerCase[]) {
    test(c.name, () => {
      // dropout's mask comes from the CPU generator, seeded as the fixture was
      const on: u.Device = c.name === 'dropout' ? 'cpu' : device;
      const m = modules[c.name]();
      if (on !== device) m.to(on);
      expect(Object.keys(m.stateDict())).toEqual(Object.keys(c.state));
      m.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, load(v, on)])));
      const x = load(c.x, on);
      if (c.x_grad) x.requiresGrad_(true);
      if (c.name === 'dropout') u.manualSeed(5);
      const out = m.forward(x);
      expectClose(out, c.out, `${c.name} output`);
      out.mul(load(c.g, on)).sum().backward();
      if (c.x_grad) expectClose(x.grad!, c.x_grad, `${c.name} input grad`);
      for (const [name, p] of m.namedParameters()) expectClose(p.grad!, c.grads[name], `${c.name} grad of ${name}`);
    });
  }

  test('Dropout is the identity in eval mode and refuses p outside [0, 1]', () => {
    const x = u.randn([5, 4]);
    expect(Array.from(new u.Dropout(0.9).eval().forward(x).data() as Float32Array)).toEqual(
      Array.from(x.data() as Float32Array),
    );
    expect(() => new u.Dropout(1.5)).toThrow('Dropout: p must be in [0, 1], got 1.5');
  });

  test('Embedding: padding row starts at zero; wrong index dtypes and shapes are refused clearly', () => {
    const e = new u.Embedding(6, 2, { paddingIdx: -1 });
    expect(e.paddingIdx).toBe(5);
    expect(Array.from(e.weight.index(5).data() as Float32Array)).toEqual([0, 0]);
    expect(() => e.forward(u.zeros([3]))).toThrow('Embedding: indices must be int64 or int32, got float32');
    expect(() => new u.LayerNorm([4]).forward(u.zeros([2, 5]))).toThrow('LayerNorm: expected input [*, 4], got [2, 5]');
    expect(() => new u.GELU({ approximate: 'erf' as never })).toThrow(
      "GELU: approximate must be 'none' or 'tanh', got erf",
    );
  });
});

describe('printing modules as PyTorch', () => {
  test("resnet18's lines are torchvision's, in order; the ones it lacks are only its functional relu/maxpool/avgpool", () => {
    const ours = u.resnet18({ numClasses: 1000 }).toString().split('\n');
    const theirs = (fixture.reprs.resnet18 as string).split('\n');
    const missing: string[] = [];
    let j = 0;
    for (const line of ours) {
      while (j < theirs.length && theirs[j] !== line) missing.push(theirs[j++]);
      if (j === theirs.length) throw new Error(`not in torchvision's print (in this order): ${line}`);
      j++;
    }
    missing.push(...theirs.slice(j));
    expect(ours.length).toBe(theirs.length - missing.length);
    expect([...new Set(missing.map((l) => l.trim().replace(/\):.*/, ')')))].sort()).toEqual([
      '(avgpool)',
      '(maxpool)',
      '(relu)',
    ]);
    expect(ours.length).toBeGreaterThan(60);
  });

  test('single modules print their options as torch.nn', () => {
    const r = fixture.reprs;
    expect(String(new u.Dropout(0.25))).toBe(r.dropout);
    expect(String(new u.MaxPool2d(3, { stride: 2, padding: 1 }))).toBe(r.max_pool);
    expect(String(new u.AvgPool2d(2))).toBe(r.avg_pool);
    expect(String(new u.LayerNorm([4, 5], { eps: 1e-6 }))).toBe(r.layer_norm);
    expect(String(new u.GELU({ approximate: 'tanh' }))).toBe(r.gelu);
    expect(String(new u.Embedding(10, 3, { paddingIdx: -1 }))).toBe(r.embedding);
    expect(String(new u.Linear(4, 3, { bias: false }))).toBe(r.linear);
    expect(String(new u.Conv2d(4, 8, 3, { padding: 2, dilation: 2, groups: 2 }))).toBe(r.conv);
    expect(String(new u.BatchNorm1d(16, { eps: 1e-3, momentum: 0.01, affine: false, trackRunningStats: false }))).toBe(
      r.batch_norm1d,
    );
    expect(
      String(new u.Sequential(new u.Linear(4, 3), new u.Sequential(new u.ReLU(), new u.Identity()), new u.Flatten())),
    ).toBe(r.sequential);
  });

  test('util.inspect and console.log show the tree, not the internal Maps; toJSON is the tree as data', () => {
    const m = new u.Sequential(new u.Linear(4, 3), new u.ReLU());
    expect(inspect(m)).toBe(m.toString());
    expect(inspect({ model: m })).toContain('(0): Linear(in_features=4, out_features=3, bias=True)');
    expect(inspect(m)).not.toContain('Map');
    expect(JSON.parse(JSON.stringify(m))).toEqual({
      type: 'Sequential',
      extra: '',
      parameters: {},
      buffers: {},
      children: {
        '0': {
          type: 'Linear',
          extra: 'in_features=4, out_features=3, bias=True',
          parameters: { weight: { shape: [3, 4], dtype: 'float32' }, bias: { shape: [3], dtype: 'float32' } },
          buffers: {},
          children: {},
        },
        '1': { type: 'ReLU', extra: '', parameters: {}, buffers: {}, children: {} },
      },
    });
  });
});
