// User errors become JS Errors with LibTorch's message and the op's name; the process goes on.
import * as u from '../lib';
import { device } from './helpers';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

test('shape mismatch', () => {
  const a = u.ones([2, 3], { device });
  const b = u.ones([4, 5], { device });
  expect(() => a.mm(b)).toThrow(/^aten::mm: mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)/);
  expect(() => a.add(u.ones([4], { device }))).toThrow(
    /aten::add: The size of tensor a \(3\) must match the size of tensor b \(4\)/,
  );
  expect(() => a.view(7)).toThrow(/aten::view: shape '\[7\]' is invalid for input of size 6/);
});

test('wrong dtype', () => {
  const x = u.ones([3], { device });
  expect(() => x.indexSelect(0, u.tensor([0, 1], { device, dtype: 'float32' }))).toThrow(
    /aten::index_select: .*(int32 or int64|Long|Int)/,
  );
  expect(() => u.ones([2], { dtype: 'int64', device }).mm(u.ones([2, 2], { device }))).toThrow(/aten::mm/);
  expect(() => u.zeros([2], { dtype: 'complex' as u.DType })).toThrow(TypeError);
  expect(() => u.zeros([2], { dtype: 'complex' as u.DType })).toThrow(/argument 'dtype' must be one of float32/);
});

test('unknown device string', () => {
  expect(() => u.zeros([2], { device: 'gpu' as u.Device })).toThrow(
    "unknown device 'gpu' (expected 'cpu', 'cuda' or 'cuda:N')",
  );
  expect(() => u.ones([2], { device }).to('tpu:0' as u.Device)).toThrow(
    /argument 'target' must be one of|unknown device/,
  );
});

test('CUDA requested where there is none', () => {
  if (u.cuda.isAvailable()) {
    expect(() => u.zeros([2], { device: `cuda:${u.cuda.deviceCount()}` as u.Device })).toThrow(
      /CUDA device\(s\) are visible/,
    );
  } else {
    expect(() => u.zeros([2], { device: 'cuda' })).toThrow(/device 'cuda': CUDA is not available/);
    expect(() => u.cuda.synchronize()).toThrow(/CUDA is not available/);
  }
});

test('disposed tensor', () => {
  const t = u.ones([2], { device });
  t.dispose();
  expect(() => t.mul(2)).toThrow('mul: the tensor was disposed and can no longer be used');
  expect(() => u.cat([u.ones([1], { device }), t])).toThrow(/cat: the tensor was disposed/);
  expect(() => t.backward()).toThrow(/backward: the tensor was disposed/);
});

test('out-of-range index', () => {
  const t = u.arange(3, undefined, 1, { device });
  expect(() => t.select(0, 5)).toThrow(/aten::select.*index 5 out of range for tensor of size \[3\]/);
  expect(() => t.index(0, 1)).toThrow(/too many indices/);
  expect(() => t.size(3)).toThrow(RangeError);
  if (device === 'cpu') {
    expect(() => t.indexSelect(0, u.tensor(new BigInt64Array([7n]), { device }))).toThrow(
      /aten::index_select: .*out of range/,
    );
  }
});

test('wrong argument types are TypeErrors that name the argument', () => {
  const t = u.ones([2, 2], { device });
  // Errors thrown natively come from Node's realm, not jest's sandbox: compare by name.
  expect(thrown(() => u.call('mm', [t, 'x'])).name).toBe('TypeError');
  expect(thrown(() => u.call('add', [t, {}])).name).toBe('TypeError');
  expect(() => u.call('mm', [t, 'x'])).toThrow(/aten::mm: argument 'mat2' \(position 2\): expected Tensor, got string/);
  expect(() => u.call('add', [t, {}])).toThrow(/no overload matches these arguments/);
  expect(() => u.call('transpose', [t, 0.5, 1])).toThrow(/argument 'dim0'.*expected integer, got number/);
  expect(() => u.call('sum', [t], { dimension: 1 })).toThrow(/unexpected keyword argument 'dimension'/);
  expect(() => u.tensor([[1, 2], [3]])).toThrow(/ragged nested array/);
  expect(() => u.tensor(['a'] as unknown as number[])).toThrow(TypeError);
});

test('unknown op', () => {
  expect(() => u.call('no_such_op', [])).toThrow("unknown operator 'aten::no_such_op'");
});

test('autograd misuse', () => {
  const x = u.ones([2], { device });
  expect(() => x.sum().backward()).toThrow(/backward: element 0 of tensors does not require grad/);
  const leaf = u.ones([2], { device, requiresGrad: true });
  expect(() => leaf.add_(1)).toThrow(/a leaf Variable that requires grad is being used in an in-place operation/);
});

test('the process is still healthy after all of the above', () => {
  expect(u.ones([2], { device }).add(1).toArray()).toEqual([2, 2]);
});

test('ops whose kernels skip argument checks are refused, naming the checked op', () => {
  expect(() => u.call('native_batch_norm', [])).toThrow(
    /aten::native_batch_norm is refused: .*can crash the process; use batch_norm/,
  );
  expect(() => u.call('upsample_bilinear2d', [u.ones([1, 1, 2, 2], { device }), [3, 1], false, 1e-5, 2])).toThrow(
    /argument 'scales_h' must be null here/,
  );
  expect(u.interpolate(u.ones([1, 1, 2, 2], { device }), [3, 1], { mode: 'bilinear' }).shape).toEqual([1, 1, 3, 1]);
});
