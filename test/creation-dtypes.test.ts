// Creation dtypes as PyTorch 2.x infers them (1.13 agrees): the dtypes come from the Python of
// the LibTorch under test, running the same calls, so the test follows torch rather than a table.
// And int64 item() past 2^53: an error naming itemBigInt(), never a rounded number.
import { execFileSync } from 'child_process';
import * as u from '../lib';
import { device } from './helpers';
import { python } from './support/python';

// [what JS calls, the Python twin, the unmix call]
const cases: [string, string, () => u.Tensor][] = [
  ['tensor([1, 2])', 'torch.tensor([1, 2])', () => u.tensor([1, 2], { device })],
  [
    'tensor([[1, 2], [3, 4]])',
    'torch.tensor([[1, 2], [3, 4]])',
    () =>
      u.tensor(
        [
          [1, 2],
          [3, 4],
        ],
        { device },
      ),
  ],
  ['tensor([1, 2.5])', 'torch.tensor([1, 2.5])', () => u.tensor([1, 2.5], { device })],
  ['tensor([[1], [2.5]])', 'torch.tensor([[1], [2.5]])', () => u.tensor([[1], [2.5]], { device })],
  ['tensor([true, false])', 'torch.tensor([True, False])', () => u.tensor([true, false], { device })],
  ['tensor([true, 2])', 'torch.tensor([True, 2])', () => u.tensor([true, 2], { device })],
  ['tensor([true, 2.5])', 'torch.tensor([True, 2.5])', () => u.tensor([true, 2.5], { device })],
  ['tensor([])', 'torch.tensor([])', () => u.tensor([], { device })],
  ['tensor(3)', 'torch.tensor(3)', () => u.tensor(3, { device })],
  ['tensor(NaN)', "torch.tensor(float('nan'))", () => u.tensor(NaN, { device })],
  ['tensor([1, Infinity])', "torch.tensor([1, float('inf')])", () => u.tensor([1, Infinity], { device })],
  ['arange(5)', 'torch.arange(5)', () => u.arange(5, undefined, 1, { device })],
  ['arange(2, 9, 3)', 'torch.arange(2, 9, 3)', () => u.arange(2, 9, 3, { device })],
  ['arange(0, 1, 0.1)', 'torch.arange(0, 1, 0.1)', () => u.arange(0, 1, 0.1, { device })],
  ['arange(0.5, 3)', 'torch.arange(0.5, 3)', () => u.arange(0.5, 3, 1, { device })],
  ['full([2], 3)', 'torch.full([2], 3)', () => u.full([2], 3, { device })],
  ['full([2], 0.5)', 'torch.full([2], 0.5)', () => u.full([2], 0.5, { device })],
  ['full([2], true)', 'torch.full([2], True)', () => u.full([2], true, { device })],
  ['scalarTensor(3)', 'torch.tensor(3)', () => u.scalarTensor(3, { device })],
  ['scalarTensor(2.5)', 'torch.tensor(2.5)', () => u.scalarTensor(2.5, { device })],
];

const torchDtypes: string[] = JSON.parse(
  execFileSync(
    python,
    [
      '-c',
      `import json, torch; print(json.dumps([str(x.dtype).replace('torch.', '') for x in [${cases.map((c) => c[1]).join(', ')}]]))`,
    ],
    { encoding: 'utf8' },
  ),
);

describe('the dtype torch infers', () => {
  test.each(cases.map((c, i) => [c[0], c[2], torchDtypes[i]] as const))('%s', (_name, make, dtype) => {
    expect(make().dtype).toBe(dtype);
  });
});

test('inferred values are exact: int64 data holds its integers, an explicit dtype still wins', () => {
  expect(
    u
      .tensor(
        [
          [1, -2],
          [3, 40_000_000_000],
        ],
        { device },
      )
      .toArray(),
  ).toEqual([
    [1, -2],
    [3, 40_000_000_000],
  ]);
  expect(u.tensor([1, 2], { device, dtype: 'float32' }).dtype).toBe('float32');
  expect(u.arange(5, undefined, 1, { device, dtype: 'float64' }).dtype).toBe('float64');
  expect(u.full([2], 3, { device, dtype: 'float32' }).toArray()).toEqual([3, 3]);
  // an integral number past int64's range is a float, as 1e20 is in Python
  expect(u.tensor([1e20], { device }).dtype).toBe('float32');
});

describe('int64 item() past 2^53', () => {
  const big = 2n ** 53n + 1n;
  test('item() refuses a value no JS number holds, naming the value and itemBigInt()', () => {
    const t = u.tensor(BigInt64Array.from([big]), { device });
    expect(() => t.item()).toThrow(
      new RangeError(
        'item: the int64 value 9007199254740993 has no exact JS number (past 2^53); use itemBigInt() for it',
      ),
    );
    expect(t.itemBigInt()).toBe(big);
    expect(u.tensor(BigInt64Array.from([-big]), { device }).itemBigInt()).toBe(-big);
    expect(u.tensor(BigInt64Array.from([2n ** 63n - 1n]), { device }).itemBigInt()).toBe(2n ** 63n - 1n);
  });
  test('toArray() refuses such a value too, and keeps those a number holds', () => {
    const t = u.tensor(BigInt64Array.from([1n, big]), { device });
    expect(() => t.toArray()).toThrow(
      new RangeError(
        'toArray: the int64 value 9007199254740993 has no exact JS number (past 2^53); data() gives the exact BigInt64Array',
      ),
    );
    expect((t.data() as BigInt64Array)[1]).toBe(big);
    expect(u.tensor(BigInt64Array.from([2n ** 60n, -7n]), { device }).toArray()).toEqual([2 ** 60, -7]);
  });
  test('values a number holds exactly stay numbers', () => {
    expect(u.tensor(BigInt64Array.from([2n ** 60n]), { device }).item()).toBe(2 ** 60);
    expect(u.tensor(BigInt64Array.from([-(2n ** 63n)]), { device }).item()).toBe(-(2 ** 63));
    expect(u.tensor([7], { device }).item()).toBe(7);
    expect(u.tensor([7], { device }).itemBigInt()).toBe(7n);
    expect(u.tensor([true], { device }).itemBigInt()).toBe(1n);
  });
  test('itemBigInt() of a float tensor is a clear error', () => {
    expect(() => u.tensor([1.5], { device }).itemBigInt()).toThrow(
      new TypeError('itemBigInt: the tensor must have an integer or bool dtype, got float32; use item()'),
    );
  });
});
