// Tensor creation, dtypes, devices, metadata, readback and views.
import * as u from '../lib';
import { device, values } from './helpers';

describe('creation', () => {
  test('from nested arrays, scalars and typed arrays', () => {
    const a = u.tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { device, dtype: 'float32' },
    );
    expect(a.shape).toEqual([2, 3]);
    expect(a.dtype).toBe('float32');
    expect(a.device).toBe(device === 'cuda' ? 'cuda:0' : device);
    expect(a.toArray()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(u.tensor(7.5, { device }).item()).toBe(7.5);
    expect(u.tensor([true, false], { device }).dtype).toBe('bool');
    const ints = u.tensor(new Int32Array([1, -2, 3]), { device });
    expect(ints.dtype).toBe('int32');
    expect(Array.from(ints.data() as Int32Array)).toEqual([1, -2, 3]);
    const longs = u.tensor(new BigInt64Array([2n ** 40n, -1n]), { device });
    expect(longs.dtype).toBe('int64');
    expect(longs.toArray()).toEqual([2 ** 40, -1]);
    expect(u.tensor(new Float32Array(6), { shape: [2, 3], device }).shape).toEqual([2, 3]);
  });

  test('every dtype round-trips through readback', () => {
    const src = [0, 1, 2, 3];
    for (const dtype of u.DTYPES) {
      const t = u.tensor(src, { dtype, device });
      expect(t.dtype).toBe(dtype);
      const expected = dtype === 'bool' ? [false, true, true, true] : src;
      expect(t.toArray()).toEqual(expected);
    }
  });

  test('filled, ranges and identity', () => {
    expect(u.zeros([2, 2], { device }).toArray()).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expect(u.ones(3, { dtype: 'int64', device }).toArray()).toEqual([1, 1, 1]);
    expect(u.full([2], 2.5, { device }).toArray()).toEqual([2.5, 2.5]);
    expect(u.empty([3, 4], { device }).shape).toEqual([3, 4]);
    expect(u.arange(5, undefined, 1, { device }).toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(u.arange(1, 2, 0.25, { device }).toArray()).toEqual([1, 1.25, 1.5, 1.75]);
    expect(u.linspace(0, 1, 5, { device }).toArray()).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(u.eye(2, 3, { device }).toArray()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(u.zerosLike(u.ones([2, 3], { device })).shape).toEqual([2, 3]);
  });

  test('random creation has the right ranges and types', () => {
    const r = u.rand([1000], { device });
    expect(r.min().item()).toBeGreaterThanOrEqual(0);
    expect(r.max().item()).toBeLessThan(1);
    const n = u.randn([20000], { device });
    expect(Math.abs(n.mean().item())).toBeLessThan(0.05);
    expect(Math.abs(n.std().item() - 1)).toBeLessThan(0.05);
    const i = u.randint(3, 7, [1000], { device });
    expect(i.dtype).toBe('int64');
    expect(i.min().item()).toBe(3);
    expect(i.max().item()).toBe(6);
    const p = u.randperm(10, { device });
    expect(values(p.sort().values)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('requiresGrad option', () => {
    const w = u.randn([3], { device, requiresGrad: true });
    expect(w.requiresGrad).toBe(true);
    expect(w.isLeaf).toBe(true);
  });
});

describe('metadata and conversion', () => {
  test('shape, strides, numel, ndim', () => {
    const t = u.zeros([2, 3, 4], { device });
    expect(t.shape).toEqual([2, 3, 4]);
    expect(t.size(-1)).toBe(4);
    expect(t.stride()).toEqual([12, 4, 1]);
    expect(t.numel()).toBe(24);
    expect(t.ndim).toBe(3);
    expect(t.transpose(0, 2).stride()).toEqual([1, 4, 12]);
    expect(t.transpose(0, 2).isContiguous()).toBe(false);
    const nchw = u.zeros([2, 3, 4, 5], { device });
    expect(nchw.contiguous('channels_last').isContiguous('channels_last')).toBe(true);
  });

  test('to(dtype) and to(device)', () => {
    const t = u.tensor([1.7, -2.2], { device });
    expect(t.to('int32').toArray()).toEqual([1, -2]);
    expect(t.to('float64').dtype).toBe('float64');
    expect(t.half().dtype).toBe('float16');
    expect((t.bfloat16().to('float32').toArray() as number[])[0]).toBeCloseTo(1.7, 1);
    expect(t.to('cpu').device).toBe('cpu');
    expect(t.to({ device: 'cpu', dtype: 'float64' }).dtype).toBe('float64');
  });

  test('async readback matches sync readback', async () => {
    const t = u.randn([256, 256], { device });
    const pending = t.dataAsync();
    expect(pending).toBeInstanceOf(Promise);
    const [a, nested] = await Promise.all([pending, t.toArrayAsync()]);
    expect(Array.from(a as Float32Array)).toEqual(Array.from(t.data() as Float32Array));
    expect((nested as number[][]).length).toBe(256);
    expect((nested as number[][])[3][7]).toBe(a[3 * 256 + 7]);
  });

  test('in-place ops return the same tensor object', () => {
    const t = u.ones([3], { device });
    expect(t.add_(1)).toBe(t);
    expect(t.mul_(u.full([3], 2, { device, dtype: 'float32' }))).toBe(t);
    expect(t.toArray()).toEqual([4, 4, 4]);
    const viaName = u.call('add_', [t, 1]);
    expect(viaName).toBe(t);
  });
});

describe('views and indexing', () => {
  const base = () => u.arange(24, undefined, 1, { device, dtype: 'float32' }).reshape(2, 3, 4);

  test('views share memory', () => {
    const t = base();
    const v = t.view(6, 4);
    v.index(0, 0).fill_(100);
    expect(t.index(0, 0, 0).item()).toBe(100);
  });

  test('python-style index', () => {
    const t = base();
    expect(t.index(1, 2, 3).item()).toBe(23);
    expect(t.index(0, { start: 1 }, { end: 2 }).toArray()).toEqual([
      [4, 5],
      [8, 9],
    ]);
    expect(t.index('...', 0).toArray()).toEqual([
      [0, 4, 8],
      [12, 16, 20],
    ]);
    expect(t.index(null, 0).shape).toEqual([1, 3, 4]);
    expect(t.index(0, 0, { step: 2 }).toArray()).toEqual([0, 2]);
    const idx = u.tensor(new BigInt64Array([2n, 0n]), { device });
    expect(t.index(0, idx, 0).toArray()).toEqual([8, 0]);
    const mask = t.index(0, 0).gt(1);
    expect(t.index(0, 0).index(mask).toArray()).toEqual([2, 3]);
  });

  test('negative indices, steps, and index assignment', () => {
    const t = base();
    expect(t.index(-1, -1, -1).item()).toBe(23);
    expect(t.index(0, 0, { start: -3, step: 2 }).toArray()).toEqual([1, 3]);
    expect(() => t.index(0, 0, { step: 0 })).toThrow(/step must be positive/);
    const z = u.zeros([2, 3], { device });
    z.indexPut_([0, { start: 1 }], 7);
    z.indexPut_([1], u.tensor([1, 2, 3], { device, dtype: 'float32' }));
    z.indexPut_([z.eq(2)], -2);
    expect(z.toArray()).toEqual([
      [0, 7, 7],
      [1, -2, 3],
    ]);
  });

  test('split, chunk, unbind, cat, stack', () => {
    const t = u.arange(6, undefined, 1, { device, dtype: 'float32' });
    expect(t.split(4).map((p) => p.toArray())).toEqual([
      [0, 1, 2, 3],
      [4, 5],
    ]);
    expect(t.split([1, 5]).map((p) => p.shape[0])).toEqual([1, 5]);
    expect(t.chunk(3).length).toBe(3);
    expect(u.cat(t.chunk(2).reverse()).toArray()).toEqual([3, 4, 5, 0, 1, 2]);
    expect(u.stack([t, t], 1).shape).toEqual([6, 2]);
    expect(t.reshape(2, 3).unbind(1).length).toBe(3);
  });
});

describe('ops by name', () => {
  test('any ATen op is callable by name, with keyword arguments', () => {
    const x = u.tensor([1, 2, 3], { device, dtype: 'float32' });
    const y = u.call('addcmul', [x, x, x], { value: 0.5 }) as u.Tensor;
    expect(y.toArray()).toEqual([1.5, 4, 7.5]);
    const [values, indices] = u.call('aten::max.dim', [x.reshape(1, 3), 1]) as u.Tensor[];
    expect(values.toArray()).toEqual([3]);
    expect(indices.toArray()).toEqual([2]);
    expect(u.call('is_floating_point', [x])).toBe(true);
  });

  test('the registry lists thousands of ops and their schemas', () => {
    const ops = u.listOps();
    expect(ops.length).toBeGreaterThan(1500);
    expect(ops).toContain('aten::conv2d');
    expect(u.opSchemas('add').some((s) => s.startsWith('aten::add.Tensor('))).toBe(true);
  });
});

test('an explicit undefined option keeps the documented default', () => {
  // the defaults torch infers: an integer fill or range is int64, a fractional one float32
  expect(u.full([2], 3, { dtype: undefined, device }).dtype).toBe('int64');
  expect(u.full([2], 0.5, { dtype: undefined, device }).dtype).toBe('float32');
  expect(u.arange(0, 5, 1, { dtype: undefined, device }).dtype).toBe('int64');
  expect(u.arange(0, 5, 0.5, { dtype: undefined, device }).dtype).toBe('float32');
  expect(u.randint(0, 5, [2], { dtype: undefined, device }).dtype).toBe('int64');
  expect(u.randperm(4, { dtype: undefined, device }).dtype).toBe('int64');
});
