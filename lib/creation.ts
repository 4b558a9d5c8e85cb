// Creating tensors: from JS data, filled, ranges, random. Defaults follow PyTorch (float32, cpu),
// except that JS numbers carry no int/float distinction, so number data defaults to float32.
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

function flatten(data: NestedArray, shape: number[], out: number[], depth = 0): void {
  if (depth === shape.length) {
    if (typeof data === 'number') out.push(data);
    else if (typeof data === 'boolean') out.push(data ? 1 : 0);
    else throw new TypeError(`tensor: data must hold numbers or booleans, got ${Array.isArray(data) ? 'a deeper array' : typeof data}`);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new TypeError(`tensor: ragged nested array: expected ${shape[depth]} elements at depth ${depth}`);
  }
  for (const d of data) flatten(d, shape, out, depth + 1);
}

function firstLeaf(data: NestedArray): unknown {
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    if (level.length === 0) return undefined;
    level = level[0];
  }
  return level;
}

/**
 * A tensor from a scalar, nested arrays or a typed array (whose type sets the default dtype).
 * `shape` reshapes typed-array data; nested arrays give their own shape.
 */
export function tensor(data: NestedArray | ArrayBufferView, options: TensorOptions & { shape?: number[] } = {}): Tensor {
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
  flatten(data, shape, flat);
  const dtype = options.dtype ? checkDtype(options.dtype) : typeof firstLeaf(data) === 'boolean' ? 'bool' : 'float32';
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
export function full(shape: number[] | number, value: number | boolean, options: TensorOptions = {}): Tensor {
  const o = { ...options, dtype: options.dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32') };
  return finish(call('full', [sizeArg(shape), value], kw(o)) as Tensor, options);
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
/** [start, end) in steps of `step`; float32 unless told otherwise. */
export function arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  const o = { ...options, dtype: options.dtype ?? 'float32' };
  return finish(call('arange.start_step', [start, end, step], kw(o)) as Tensor, options);
}
export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  return finish(call('linspace', [start, end, steps], kw(options)) as Tensor, options);
}
export function eye(n: number, m?: number, options: TensorOptions = {}): Tensor {
  return finish((m === undefined ? call('eye', [n], kw(options)) : call('eye.m', [n, m], kw(options))) as Tensor, options);
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
/** Like PyTorch's torch.scalar_tensor: a 0-d tensor. */
export function scalarTensor(value: number | boolean, options: TensorOptions = {}): Tensor {
  return full([], value, options);
}
