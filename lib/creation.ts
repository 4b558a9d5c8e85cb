// Creating tensors: from JS data, filled, ranges, random. Defaults follow PyTorch 2.x (and 1.13,
// which agrees): data and fill values infer their dtype as torch.tensor infers it from Python
// values: booleans give bool, integers int64, any other number float32 (the default dtype). JS has
// one number type, so an integral number counts as an integer: `tensor([1, 2])` is int64 where
// Python's `torch.tensor([1., 2.])` would be float; pass `{dtype: 'float32'}` when floats are meant.
import { call } from './dispatch';
import { DType, checkDtype, dtypeOfArray } from './dtype';
import { native } from './native';
import type { Generator } from './random';
import { Device, NestedArray, Tensor } from './tensor';

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

export interface RandomOptions extends TensorOptions {
  generator?: Generator;
}

function finish(t: Tensor, options: TensorOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad_(true);
  return t;
}

function kw(options: TensorOptions & { generator?: Generator }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (options.dtype !== undefined) out.dtype = checkDtype(options.dtype);
  if (options.device !== undefined) out.device = options.device;
  if (options.generator !== undefined) out.generator = options.generator.handle;
  return out;
}

function shapeOf(data: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

// What torch.tensor infers from the leaves it saw: all booleans: bool; integers (and booleans):
// int64; any other number (fractional, NaN, infinite, or an integer past int64's range): float32.
interface Kinds {
  number: boolean;
  float: boolean;
}
const INT64_LIMIT = 2 ** 63;

function leafKind(v: number | boolean, kinds: Kinds): void {
  if (typeof v === 'boolean') return;
  kinds.number = true;
  if (!(Number.isInteger(v) && v >= -INT64_LIMIT && v < INT64_LIMIT)) kinds.float = true;
}

function inferred(kinds: Kinds, sawLeaf: boolean): DType {
  if (!sawLeaf || kinds.float) return 'float32';
  return kinds.number ? 'int64' : 'bool';
}

function flatten(data: NestedArray, shape: number[], out: number[], kinds: Kinds, depth = 0): void {
  if (depth === shape.length) {
    if (typeof data === 'number') out.push(data);
    else if (typeof data === 'boolean') out.push(data ? 1 : 0);
    else
      throw new TypeError(
        `tensor: data must hold numbers or booleans, got ${Array.isArray(data) ? 'a deeper array' : typeof data}`,
      );
    leafKind(data, kinds);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new TypeError(`tensor: ragged nested array: expected ${shape[depth]} elements at depth ${depth}`);
  }
  for (const d of data) flatten(d, shape, out, kinds, depth + 1);
}

/**
 * A tensor from a scalar, nested arrays or a typed array (whose type sets the default dtype).
 * `shape` reshapes typed-array data; nested arrays give their own shape. Without `dtype`, numbers
 * and booleans infer it as torch.tensor does: bool, else int64 when every number is an integer,
 * else float32 (`tensor([1, 2])` is int64, `tensor([1, 2.5])` float32, `tensor([])` float32).
 */
export function tensor(
  data: NestedArray | ArrayBufferView,
  options: TensorOptions & { shape?: number[] } = {},
): Tensor {
  const device = options.device ?? 'cpu';
  if (ArrayBuffer.isView(data)) {
    const source = dtypeOfArray(data);
    const length = data.byteLength / (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    const shape = options.shape ?? [length];
    const dtype = options.dtype ? checkDtype(options.dtype) : source;
    return finish(Tensor.fromHandle(native.fromBuffer(data, source, shape, dtype, device)), options);
  }
  const shape = shapeOf(data);
  const flat: number[] = [];
  const kinds: Kinds = { number: false, float: false };
  flatten(data, shape, flat, kinds);
  const dtype = options.dtype ? checkDtype(options.dtype) : inferred(kinds, flat.length > 0);
  const handle = native.fromBuffer(new Float64Array(flat), 'float64', shape, dtype, device);
  return finish(Tensor.fromHandle(handle), options);
}

function sizeArg(shape: number[] | number): number[] {
  return typeof shape === 'number' ? [shape] : shape;
}

export function zeros(shape: number[] | number, options: TensorOptions = {}): Tensor {
  return finish(call('zeros', [sizeArg(shape)], kw(options)) as Tensor, options);
}
export function ones(shape: number[] | number, options: TensorOptions = {}): Tensor {
  return finish(call('ones', [sizeArg(shape)], kw(options)) as Tensor, options);
}
/** torch.full's dtype for a fill value: bool, int64 for an integer, else float32. */
function scalarDtype(value: number | boolean): DType {
  const kinds: Kinds = { number: false, float: false };
  leafKind(value, kinds);
  return inferred(kinds, true);
}

/** `value` everywhere; its dtype as torch.full infers it (`full([2], 3)` is int64, `full([2], 0.5)` float32). */
export function full(shape: number[] | number, value: number | boolean, options: TensorOptions = {}): Tensor {
  return finish(
    call('full', [sizeArg(shape), value], kw({ ...options, dtype: options.dtype ?? scalarDtype(value) })) as Tensor,
    options,
  );
}
/** Uninitialised memory: fast, but its contents are arbitrary. */
export function empty(shape: number[] | number, options: TensorOptions = {}): Tensor {
  return finish(call('empty.memory_format', [sizeArg(shape)], kw(options)) as Tensor, options);
}
export function zerosLike(t: Tensor, options: TensorOptions = {}): Tensor {
  return finish(call('zeros_like', [t], kw(options)) as Tensor, options);
}
export function onesLike(t: Tensor, options: TensorOptions = {}): Tensor {
  return finish(call('ones_like', [t], kw(options)) as Tensor, options);
}
export function emptyLike(t: Tensor, options: TensorOptions = {}): Tensor {
  return finish(call('empty_like', [t], kw(options)) as Tensor, options);
}
export function fullLike(t: Tensor, value: number, options: TensorOptions = {}): Tensor {
  return finish(call('full_like', [t, value], kw(options)) as Tensor, options);
}
/**
 * [start, end) in steps of `step`. As torch.arange: int64 when start, end and step are all
 * integers (`arange(5)`), else float32 (`arange(0, 1, 0.1)`); `arange(5.0)` cannot be told from
 * `arange(5)` in JS, so pass `{dtype: 'float32'}` for a float range of integers.
 */
export function arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  const kinds: Kinds = { number: false, float: false };
  for (const v of [start, end, step]) leafKind(v, kinds);
  const o = { ...options, dtype: options.dtype ?? inferred(kinds, true) };
  return finish(call('arange.start_step', [start, end, step], kw(o)) as Tensor, options);
}
export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  return finish(call('linspace', [start, end, steps], kw(options)) as Tensor, options);
}
export function eye(n: number, m?: number, options: TensorOptions = {}): Tensor {
  return finish(
    (m === undefined ? call('eye', [n], kw(options)) : call('eye.m', [n, m], kw(options))) as Tensor,
    options,
  );
}
/** Uniform on [0, 1). */
export function rand(shape: number[] | number, options: RandomOptions = {}): Tensor {
  return finish(call('rand', [sizeArg(shape)], kw(options)) as Tensor, options);
}
/** Standard normal. */
export function randn(shape: number[] | number, options: RandomOptions = {}): Tensor {
  return finish(call('randn', [sizeArg(shape)], kw(options)) as Tensor, options);
}
/** Integers uniform on [low, high); int64 unless told otherwise. */
export function randint(low: number, high: number, shape: number[] | number, options: RandomOptions = {}): Tensor {
  const o = { ...options, dtype: options.dtype ?? 'int64' };
  return call('randint', [low, high, sizeArg(shape)], kw(o)) as Tensor;
}
/** A random permutation of 0..n-1 (int64). */
export function randperm(n: number, options: RandomOptions = {}): Tensor {
  const o = { ...options, dtype: options.dtype ?? 'int64' };
  return call('randperm', [n], kw(o)) as Tensor;
}
/**
 * A 0-d tensor: torch.tensor(value), its dtype inferred the same way (2.5: float32, 3: int64,
 * true: bool). torch.scalar_tensor is float32 for every value: pass `{dtype: 'float32'}` for that.
 */
export function scalarTensor(value: number | boolean, options: TensorOptions = {}): Tensor {
  return full([], value, options);
}
