// Printing tensors: toString() and util.inspect give Python's repr(tensor) character for character
// (fixture: test/fixtures/make_print_fixtures.py, run at test time with the Python of the LibTorch
// under test), and toJSON gives shape, dtype, device and, for small tensors, the values.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { inspect } from 'util';
import * as u from '../lib';
import { device } from './helpers';
import { python } from './support/python';

interface Case {
  name: string;
  dtype: u.DType;
  shape: number[];
  values: (number | string | boolean)[];
  requires_grad: boolean;
  op: 'square' | null;
  repr: string;
}

const fixture: { torch: string; cases: Case[] } = JSON.parse(
  execFileSync(python, [path.join(__dirname, 'fixtures', 'make_print_fixtures.py')], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  }),
);

function build(c: Case): u.Tensor {
  let t: u.Tensor;
  if (c.dtype === 'int64')
    t = u.tensor(
      BigInt64Array.from(c.values as string[], (v) => BigInt(v)),
      { shape: c.shape },
    );
  else if (c.dtype === 'bool')
    t = u.tensor(
      Uint8Array.from(c.values as boolean[], (v) => (v ? 1 : 0)),
      { shape: c.shape, dtype: 'bool' },
    );
  else t = u.tensor(Float64Array.from(c.values as (number | string)[], Number), { shape: c.shape, dtype: c.dtype });
  if (c.requires_grad) t.requiresGrad_(true);
  return c.op === 'square' ? t.mul(t) : t;
}

describe(`repr as torch ${fixture.torch} prints it`, () => {
  test.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const t = build(c);
    expect(t.toString()).toBe(c.repr);
    expect(inspect(t)).toBe(c.repr);
  });
});

test('a tensor off the CPU names its device, before the dtype', () => {
  const expected = execFileSync(
    python,
    ['-c', `import torch; print(repr(torch.tensor([1.5, 2], dtype=torch.float64, device='${device}')), end="")`],
    { encoding: 'utf8' },
  );
  expect(u.tensor([1.5, 2], { device, dtype: 'float64' }).toString()).toBe(expected);
});

test('a disposed tensor prints as such', () => {
  const t = u.ones([2]);
  t.dispose();
  expect(String(t)).toBe('tensor(disposed)');
});

test('summarising reads back only the edge items: a 4M-element tensor prints as torch prints it, quickly', () => {
  const expected = execFileSync(
    python,
    [
      '-c',
      `import torch; print(repr(torch.arange(0, 4000000, dtype=torch.float32, device='${device}').view(2000, 2000)), end="")`,
    ],
    { encoding: 'utf8' },
  );
  const t = u.arange(0, 4_000_000, 1, { dtype: 'float32', device }).view(2000, 2000);
  const start = performance.now();
  const s = t.toString();
  const ms = performance.now() - start;
  expect(s).toBe(expected);
  // formatting all 4M values takes seconds; the 36 edge items take milliseconds
  expect(ms).toBeLessThan(500);
});

describe('toJSON', () => {
  test('small tensors carry their values', () => {
    const t = u.tensor(
      [
        [1.5, 2],
        [3, 4],
      ],
      { dtype: 'float64' },
    );
    expect(JSON.parse(JSON.stringify(t))).toEqual({
      shape: [2, 2],
      dtype: 'float64',
      device: 'cpu',
      requiresGrad: false,
      values: [
        [1.5, 2],
        [3, 4],
      ],
    });
    expect(JSON.parse(JSON.stringify({ flag: u.tensor([true, false]) }))).toEqual({
      flag: { shape: [2], dtype: 'bool', device: 'cpu', requiresGrad: false, values: [true, false] },
    });
  });
  test('int64 values past 2^53 stay exact as strings', () => {
    const t = u.tensor(BigInt64Array.from([2n ** 53n + 1n, 5n]));
    expect(t.toJSON()).toEqual({
      shape: [2],
      dtype: 'int64',
      device: 'cpu',
      requiresGrad: false,
      values: ['9007199254740993', 5],
    });
  });
  test('tensors above 1000 elements leave the values out', () => {
    const t = u.zeros([1001]);
    expect(t.toJSON()).toEqual({ shape: [1001], dtype: 'float32', device: 'cpu', requiresGrad: false });
    expect(u.zeros([1000]).toJSON()).toHaveProperty('values');
  });
});
