// The Tensor class: a JS owner of one LibTorch tensor with PyTorch's methods in camelCase.
// Each method is one ATen op call (see dispatch.ts); autograd runs inside LibTorch.
import { inspect } from 'util';
import { call, OpResult } from './dispatch';
import { AnyTypedArray, DType, checkDtype, isFloating, viewAs } from './dtype';
import { gcOwned, keep, scope, track } from './memory';
import { EDGE, formatTensor, summarizes } from './print';
import { native, TensorHandle } from './native';

export type Scalar = number | boolean;
export type TensorOrScalar = Tensor | Scalar;
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
export type MemoryFormat = 'contiguous_format' | 'channels_last' | 'preserve_format';
export type NestedArray = number | boolean | NestedArray[];

/** A slice for `index()`: start inclusive, end exclusive, like Python's `start:end:step`. */
export interface Slice {
  start?: number;
  end?: number;
  step?: number;
}
/** number: select; Slice: slice; null: new axis; '...': ellipsis; Tensor: advanced (integer or bool) index. */
export type Index = number | Slice | null | '...' | Tensor;

export interface ReduceOptions {
  keepdim?: boolean;
}

function T(name: string, args: unknown[], kwargs?: Record<string, unknown>): Tensor {
  return call(name, args, kwargs) as Tensor;
}

function dims(d: number | number[] | undefined): number[] | undefined {
  return d === undefined ? undefined : Array.isArray(d) ? d : [d];
}

// The property under which a Tensor keeps its native handle; native code reads it there (a
// symbol key is cheaper to look up than a name, and cannot clash with anything else).
const HANDLE = Symbol('unmix.tensorHandle');
native.setTensorHandleKey(HANDLE);

// Frees tensors that became unreachable without being disposed. Only tensors no scope owns are
// registered (a scope frees its own for sure), so the hot path inside scopes pays nothing for it.
// Two ways, for two kinds of program: the native side holds a weak reference to each and sweeps
// the collected ones whenever more tensors are handed to the GC (a loop that never reaches the
// event loop: `for await` over promises settling as microtasks), and this registry frees them from
// the event loop (a program that stops making tensors). Freeing twice is harmless: a freed handle
// names no live slot.
const collector = new FinalizationRegistry<TensorHandle>((handle) => native.disposeTensor(handle));

export class Tensor {
  /** Lets scopes recognise tensors without importing this class. */
  readonly __isTensor = true;
  /** The native handle, null once disposed. The native side reads this property. */
  private [HANDLE]: TensorHandle | null;
  private _kept = false;
  private _collectable = false;

  private constructor(handle: TensorHandle) {
    this[HANDLE] = handle;
  }

  /** Wraps a native handle; the innermost scope becomes its owner, else the garbage collector. Internal. */
  static fromHandle(handle: TensorHandle): Tensor {
    const t = new Tensor(handle);
    if (!track(t)) t.collectWhenUnreachable();
    return t;
  }

  /** The native handle; throws a clear Error once disposed. Internal. */
  get handle(): TensorHandle {
    return this.checked('Tensor')[HANDLE] as TensorHandle;
  }

  /** This tensor, for passing to native code; throws "<op>: the tensor was disposed ..." once disposed. Internal. */
  checked(op: string): this {
    if (this[HANDLE] === null) throw new Error(`${op}: the tensor was disposed and can no longer be used`);
    return this;
  }

  // ---- lifetime ------------------------------------------------------------------------------

  /** Frees the tensor's memory now. Idempotent; any later use throws. */
  dispose(): void {
    const handle = this.takeHandle();
    if (handle !== null) native.disposeTensor(handle);
  }

  /**
   * Marks this tensor disposed and hands its handle (null if already disposed) to the caller, who
   * must free it: scopes free many in one native call. Internal.
   */
  takeHandle(): TensorHandle | null {
    const handle = this[HANDLE];
    if (handle === null) return null;
    if (this._collectable) collector.unregister(this);
    this[HANDLE] = null;
    return handle;
  }

  /** Lets the garbage collector free this tensor once it is unreachable (tensors no scope will free). Internal. */
  collectWhenUnreachable(): void {
    if (this._collectable || this[HANDLE] === null) return;
    this._collectable = true;
    collector.register(this, this[HANDLE], this);
    gcOwned(native.collectWhenUnreachable(this)); // a weak reference; its host bytes count towards a collection
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  get isDisposed(): boolean {
    return this[HANDLE] === null;
  }

  /** Exempts this tensor from every scope; see `keep()`. */
  keep(): this {
    return keep(this);
  }

  get isKept(): boolean {
    return this._kept;
  }

  markKept(): void {
    this._kept = true;
    this.collectWhenUnreachable();
  }

  // ---- metadata ------------------------------------------------------------------------------

  private meta() {
    return native.tensorMeta(this.checked('meta'));
  }
  get shape(): number[] {
    return this.meta()[0];
  }
  /** size() is the shape; size(d) one dimension (negative counts from the end). */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number | number[] {
    const shape = this.shape;
    if (dim === undefined) return shape;
    const d = dim < 0 ? dim + shape.length : dim;
    if (d < 0 || d >= shape.length) throw new RangeError(`size: dimension ${dim} is out of range for a ${shape.length}-d tensor`);
    return shape[d];
  }
  stride(): number[] {
    return this.meta()[1];
  }
  // A tensor's dtype and device never change (in-place ops keep them), so they are read once.
  private _dtype?: DType;
  private _device?: Device;
  get dtype(): DType {
    return (this._dtype ??= this.meta()[2] as DType);
  }
  get device(): Device {
    return (this._device ??= this.meta()[3] as Device);
  }
  get ndim(): number {
    return this.shape.length;
  }
  dim(): number {
    return this.ndim;
  }
  numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  get isCuda(): boolean {
    return this.device.startsWith('cuda');
  }
  isContiguous(memoryFormat?: MemoryFormat): boolean {
    return native.isContiguous(this.checked('isContiguous'), memoryFormat);
  }

  // ---- autograd ------------------------------------------------------------------------------

  get requiresGrad(): boolean {
    return this.meta()[4];
  }
  set requiresGrad(value: boolean) {
    this.requiresGrad_(value);
  }
  requiresGrad_(value = true): this {
    native.setRequiresGrad(this.checked('requiresGrad_'), value);
    return this;
  }
  get isLeaf(): boolean {
    return this.meta()[5];
  }
  /** The accumulated gradient, or null. Each read returns a new Tensor sharing the gradient's memory. */
  get grad(): Tensor | null {
    const g = native.getGrad(this.checked('grad'));
    return g ? Tensor.fromHandle(g) : null;
  }
  set grad(value: Tensor | null) {
    native.setGrad(this.checked('grad'), value ? value.checked('grad') : null);
  }
  /** Computes gradients of this tensor with respect to graph leaves (accumulated into `.grad`). */
  backward(gradient?: Tensor, options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    native.backward(
      [this.checked('backward')],
      gradient ? [gradient.checked('backward')] : null,
      options.retainGraph,
      options.createGraph ?? false,
    );
  }
  detach(): Tensor {
    return T('detach', [this]);
  }
  detach_(): this {
    call('detach_', [this]);
    return this;
  }

  // ---- readback ------------------------------------------------------------------------------

  /** A copy of the elements in row-major order (float16/bfloat16 widened to float32). Blocks on a GPU sync. */
  data(): AnyTypedArray {
    return viewAs(this.dtype, native.toBuffer(this.checked('data')));
  }
  /** Like data(), but the device-to-host copy runs off the JS thread. */
  async dataAsync(): Promise<AnyTypedArray> {
    const dtype = this.dtype;
    return viewAs(dtype, await native.toBufferAsync(this.checked('dataAsync')));
  }
  /**
   * The value of a one-element tensor, as a number (booleans as 0/1). An int64 that no JS number
   * holds exactly (past 2^53, where Python's int stays exact) is a RangeError naming the value:
   * read it with itemBigInt().
   */
  item(): number {
    const v = native.item(this.checked('item'));
    if (typeof v === 'bigint') throw new RangeError(`item: the int64 value ${v} has no exact JS number (past 2^53); use itemBigInt() for it`);
    return Number(v);
  }
  /** The exact value of a one-element integer or bool tensor as a bigint (int64 past 2^53 included). */
  itemBigInt(): bigint {
    const dtype = this.dtype;
    if (isFloating(dtype)) throw new TypeError(`itemBigInt: the tensor must have an integer or bool dtype, got ${dtype}; use item()`);
    const v = native.item(this.checked('itemBigInt'));
    return typeof v === 'bigint' ? v : BigInt(Number(v));
  }
  /** Nested arrays like Python's tolist(): numbers, or booleans for bool tensors. */
  toArray(): NestedArray {
    return nest(this.data(), this.shape, this.dtype);
  }
  async toArrayAsync(): Promise<NestedArray> {
    const shape = this.shape;
    return nest(await this.dataAsync(), shape, this.dtype);
  }

  // ---- conversion ----------------------------------------------------------------------------

  /** to('cuda'), to('float16'), or to({ device, dtype, nonBlocking, copy }). */
  to(target: Device | DType | { device?: Device; dtype?: DType; nonBlocking?: boolean; copy?: boolean }): Tensor {
    if (typeof target === 'string') {
      if ((['cpu', 'cuda'] as string[]).includes(target) || target.startsWith('cuda:')) {
        return T('to.device', [this, target, this.dtype]);
      }
      return T('to.dtype', [this, checkDtype(target, 'target')]);
    }
    return T('to.device', [this, target.device ?? this.device, target.dtype ?? this.dtype, target.nonBlocking ?? false, target.copy ?? false]);
  }
  cpu(): Tensor {
    return this.to('cpu');
  }
  cuda(device: number = 0): Tensor {
    return this.to(`cuda:${device}`);
  }
  float(): Tensor {
    return this.to('float32');
  }
  double(): Tensor {
    return this.to('float64');
  }
  half(): Tensor {
    return this.to('float16');
  }
  bfloat16(): Tensor {
    return this.to('bfloat16');
  }
  long(): Tensor {
    return this.to('int64');
  }
  int(): Tensor {
    return this.to('int32');
  }
  bool(): Tensor {
    return this.to('bool');
  }
  contiguous(memoryFormat: MemoryFormat = 'contiguous_format'): Tensor {
    return T('contiguous', [this], { memory_format: memoryFormat });
  }
  clone(memoryFormat?: MemoryFormat): Tensor {
    return T('clone', [this], memoryFormat ? { memory_format: memoryFormat } : undefined);
  }
  copy_(source: Tensor): this {
    call('copy_', [this, source]);
    return this;
  }

  // ---- views and shape -----------------------------------------------------------------------

  view(...shape: number[] | [number[]]): Tensor {
    return T('view', [this, flatShape(shape)]);
  }
  reshape(...shape: number[] | [number[]]): Tensor {
    return T('reshape', [this, flatShape(shape)]);
  }
  viewAs(other: Tensor): Tensor {
    return T('view_as', [this, other]);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return T('flatten.using_ints', [this, startDim, endDim]);
  }
  unflatten(dim: number, sizes: number[]): Tensor {
    return T('unflatten.int', [this, dim, sizes]);
  }
  permute(...order: number[] | [number[]]): Tensor {
    return T('permute', [this, flatShape(order)]);
  }
  transpose(dim0: number, dim1: number): Tensor {
    return T('transpose.int', [this, dim0, dim1]);
  }
  /** Transpose of a 2-d tensor. */
  t(): Tensor {
    return T('t', [this]);
  }
  get T(): Tensor {
    return this.t();
  }
  flip(dims: number | number[]): Tensor {
    return T('flip', [this, dims]);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return T('narrow', [this, dim, start, length]);
  }
  select(dim: number, index: number): Tensor {
    return T('select.int', [this, dim, index]);
  }
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return T('slice.Tensor', [this, dim, start ?? null, end ?? null, step]);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return T('index_select', [this, dim, index]);
  }
  gather(dim: number, index: Tensor): Tensor {
    return T('gather', [this, dim, index]);
  }
  /** A copy with the rows `index` along `dim` replaced by `source` (torch.index_copy). */
  indexCopy(dim: number, index: Tensor, source: Tensor): Tensor {
    return T('index_copy', [this, dim, index, source]);
  }
  indexCopy_(dim: number, index: Tensor, source: Tensor): this {
    call('index_copy_', [this, dim, index, source]);
    return this;
  }
  scatter(dim: number, index: Tensor, src: TensorOrScalar): Tensor {
    return T(src instanceof Tensor ? 'scatter.src' : 'scatter.value', [this, dim, index, src]);
  }
  scatter_(dim: number, index: Tensor, src: TensorOrScalar): this {
    call(src instanceof Tensor ? 'scatter_.src' : 'scatter_.value', [this, dim, index, src]);
    return this;
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return T('scatter_add', [this, dim, index, src]);
  }
  split(splitSize: number | number[], dim = 0): Tensor[] {
    return (Array.isArray(splitSize) ? call('split_with_sizes', [this, splitSize, dim]) : call('split.Tensor', [this, splitSize, dim])) as Tensor[];
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return call('chunk', [this, chunks, dim]) as Tensor[];
  }
  unbind(dim = 0): Tensor[] {
    return call('unbind.int', [this, dim]) as Tensor[];
  }
  expand(...shape: number[] | [number[]]): Tensor {
    return T('expand', [this, flatShape(shape)]);
  }
  expandAs(other: Tensor): Tensor {
    return T('expand_as', [this, other]);
  }
  repeat(...repeats: number[] | [number[]]): Tensor {
    return T('repeat', [this, flatShape(repeats)]);
  }
  /** A view with explicit sizes, strides and storage offset (torch.as_strided). */
  asStrided(size: number[], stride: number[], storageOffset = 0): Tensor {
    return T('as_strided', [this, size, stride, storageOffset]);
  }
  /** Shifts elements along `dims` by `shifts`, wrapping around (torch.roll). */
  roll(shifts: number | number[], dims: number | number[] = []): Tensor {
    return T('roll', [this, shifts, dims]);
  }
  repeatInterleave(repeats: number, dim?: number): Tensor {
    return T('repeat_interleave.self_int', [this, repeats, dim ?? null]);
  }
  squeeze(dim?: number): Tensor {
    return dim === undefined ? T('squeeze', [this]) : T('squeeze.dim', [this, dim]);
  }
  unsqueeze(dim: number): Tensor {
    return T('unsqueeze', [this, dim]);
  }
  /** Python-style indexing, one native call: t.index(0, { start: 1 }, null, '...', idx) is t[0, 1:, None, ..., idx]. */
  index(...indices: Index[]): Tensor {
    return Tensor.fromHandle(native.index(this.checked('index'), indices.map(toNativeIndex)));
  }
  /** Python-style index assignment, in place: t.indexPut_([mask], 0) is t[mask] = 0. */
  indexPut_(indices: Index[], value: TensorOrScalar): this {
    native.indexPut(this.checked('indexPut_'), indices.map(toNativeIndex), value instanceof Tensor ? value.checked('indexPut_') : value);
    return this;
  }
  /** t[indices] += values (accumulating repeated indices) for index tensors; null keeps a dimension whole. */
  indexAdd_(indices: (Tensor | null)[], values: Tensor): this {
    call('index_put_', [this, indices, values, true]);
    return this;
  }

  // ---- elementwise ---------------------------------------------------------------------------

  add(other: TensorOrScalar, alpha?: number): Tensor {
    return T('add', [this, other], alpha === undefined ? undefined : { alpha });
  }
  add_(other: TensorOrScalar, alpha?: number): this {
    call('add_', [this, other], alpha === undefined ? undefined : { alpha });
    return this;
  }
  sub(other: TensorOrScalar, alpha?: number): Tensor {
    return T('sub', [this, other], alpha === undefined ? undefined : { alpha });
  }
  sub_(other: TensorOrScalar, alpha?: number): this {
    call('sub_', [this, other], alpha === undefined ? undefined : { alpha });
    return this;
  }
  mul(other: TensorOrScalar): Tensor {
    return T('mul', [this, other]);
  }
  mul_(other: TensorOrScalar): this {
    call('mul_', [this, other]);
    return this;
  }
  div(other: TensorOrScalar, roundingMode?: 'trunc' | 'floor'): Tensor {
    return T('div', [this, other], roundingMode ? { rounding_mode: roundingMode } : undefined);
  }
  div_(other: TensorOrScalar): this {
    call('div_', [this, other]);
    return this;
  }
  remainder(other: TensorOrScalar): Tensor {
    return T('remainder', [this, other]);
  }
  /** C-style remainder (sign of the dividend), torch.fmod. */
  fmod(other: TensorOrScalar): Tensor {
    return T('fmod', [this, other]);
  }
  /** other − this (torch.rsub). */
  rsub(other: TensorOrScalar): Tensor {
    return T('rsub', [this, other]);
  }
  pow(exponent: TensorOrScalar): Tensor {
    return T('pow', [this, exponent]);
  }
  pow_(exponent: TensorOrScalar): this {
    call('pow_', [this, exponent]);
    return this;
  }
  /** this + value * t1 * t2 */
  addcmul(t1: Tensor, t2: Tensor, value = 1): Tensor {
    return T('addcmul', [this, t1, t2], { value });
  }
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this {
    call('addcmul_', [this, t1, t2], { value });
    return this;
  }
  /** this + value * t1 / t2 */
  addcdiv(t1: Tensor, t2: Tensor, value = 1): Tensor {
    return T('addcdiv', [this, t1, t2], { value });
  }
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this {
    call('addcdiv_', [this, t1, t2], { value });
    return this;
  }
  lerp(end: Tensor, weight: TensorOrScalar): Tensor {
    return T('lerp', [this, end, weight]);
  }
  lerp_(end: Tensor, weight: TensorOrScalar): this {
    call('lerp_', [this, end, weight]);
    return this;
  }
  maximum(other: Tensor): Tensor {
    return T('maximum', [this, other]);
  }
  minimum(other: Tensor): Tensor {
    return T('minimum', [this, other]);
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return T('clamp', [this, min ?? null, max ?? null]);
  }
  clamp_(min?: number | null, max?: number | null): this {
    call('clamp_', [this, min ?? null, max ?? null]);
    return this;
  }
  neg(): Tensor {
    return T('neg', [this]);
  }
  abs(): Tensor {
    return T('abs', [this]);
  }
  exp(): Tensor {
    return T('exp', [this]);
  }
  log(): Tensor {
    return T('log', [this]);
  }
  log1p(): Tensor {
    return T('log1p', [this]);
  }
  sqrt(): Tensor {
    return T('sqrt', [this]);
  }
  rsqrt(): Tensor {
    return T('rsqrt', [this]);
  }
  square(): Tensor {
    return T('square', [this]);
  }
  reciprocal(): Tensor {
    return T('reciprocal', [this]);
  }
  sin(): Tensor {
    return T('sin', [this]);
  }
  cos(): Tensor {
    return T('cos', [this]);
  }
  tanh(): Tensor {
    return T('tanh', [this]);
  }
  sigmoid(): Tensor {
    return T('sigmoid', [this]);
  }
  relu(): Tensor {
    return T('relu', [this]);
  }
  relu_(): this {
    call('relu_', [this]);
    return this;
  }
  floor(): Tensor {
    return T('floor', [this]);
  }
  ceil(): Tensor {
    return T('ceil', [this]);
  }
  round(): Tensor {
    return T('round', [this]);
  }
  sign(): Tensor {
    return T('sign', [this]);
  }
  zero_(): this {
    call('zero_', [this]);
    return this;
  }
  fill_(value: TensorOrScalar): this {
    call('fill_', [this, value]);
    return this;
  }
  uniform_(from = 0, to = 1): this {
    call('uniform_', [this, from, to]);
    return this;
  }
  normal_(mean = 0, std = 1): this {
    call('normal_', [this, mean, std]);
    return this;
  }

  // ---- comparisons and masks -----------------------------------------------------------------

  eq(other: TensorOrScalar): Tensor {
    return T('eq', [this, other]);
  }
  ne(other: TensorOrScalar): Tensor {
    return T('ne', [this, other]);
  }
  lt(other: TensorOrScalar): Tensor {
    return T('lt', [this, other]);
  }
  le(other: TensorOrScalar): Tensor {
    return T('le', [this, other]);
  }
  gt(other: TensorOrScalar): Tensor {
    return T('gt', [this, other]);
  }
  ge(other: TensorOrScalar): Tensor {
    return T('ge', [this, other]);
  }
  logicalNot(): Tensor {
    return T('logical_not', [this]);
  }
  logicalAnd(other: Tensor): Tensor {
    return T('logical_and', [this, other]);
  }
  logicalOr(other: Tensor): Tensor {
    return T('logical_or', [this, other]);
  }
  isnan(): Tensor {
    return T('isnan', [this]);
  }
  isfinite(): Tensor {
    return T('isfinite', [this]);
  }
  allclose(other: Tensor, rtol = 1e-5, atol = 1e-8): boolean {
    return call('allclose', [this, other, rtol, atol]) as boolean;
  }
  equal(other: Tensor): boolean {
    return call('equal', [this, other]) as boolean;
  }
  maskedFill(mask: Tensor, value: TensorOrScalar): Tensor {
    return T('masked_fill', [this, mask, value]);
  }
  maskedFill_(mask: Tensor, value: TensorOrScalar): this {
    call('masked_fill_', [this, mask, value]);
    return this;
  }
  maskedSelect(mask: Tensor): Tensor {
    return T('masked_select', [this, mask]);
  }
  /** this where `condition` holds, else `other`. */
  where(condition: Tensor, other: TensorOrScalar): Tensor {
    return T('where', [condition, this, other]);
  }

  // ---- reductions ----------------------------------------------------------------------------

  sum(dim?: number | number[], options: ReduceOptions & { dtype?: DType } = {}): Tensor {
    if (dim === undefined) return T('sum', [this], { dtype: options.dtype });
    return T('sum.dim_IntList', [this, dims(dim), options.keepdim ?? false], { dtype: options.dtype });
  }
  mean(dim?: number | number[], options: ReduceOptions = {}): Tensor {
    if (dim === undefined) return T('mean', [this]);
    return T('mean.dim', [this, dims(dim), options.keepdim ?? false]);
  }
  prod(dim?: number, options: ReduceOptions = {}): Tensor {
    return dim === undefined ? T('prod', [this]) : T('prod.dim_int', [this, dim, options.keepdim ?? false]);
  }
  /** Variance; `correction` 1 (default) is the unbiased estimate, 0 the population variance. */
  var(dim?: number | number[], options: ReduceOptions & { correction?: number } = {}): Tensor {
    return T('var.correction', [this, dims(dim) ?? null], { correction: options.correction ?? 1, keepdim: options.keepdim ?? false });
  }
  std(dim?: number | number[], options: ReduceOptions & { correction?: number } = {}): Tensor {
    return T('std.correction', [this, dims(dim) ?? null], { correction: options.correction ?? 1, keepdim: options.keepdim ?? false });
  }
  /** max() over all elements, or { values, indices } along a dimension. */
  max(): Tensor;
  max(dim: number, options?: ReduceOptions): { values: Tensor; indices: Tensor };
  max(dim?: number, options: ReduceOptions = {}): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return T('max', [this]);
    const [values, indices] = call('max.dim', [this, dim, options.keepdim ?? false]) as Tensor[];
    return { values, indices };
  }
  min(): Tensor;
  min(dim: number, options?: ReduceOptions): { values: Tensor; indices: Tensor };
  min(dim?: number, options: ReduceOptions = {}): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return T('min', [this]);
    const [values, indices] = call('min.dim', [this, dim, options.keepdim ?? false]) as Tensor[];
    return { values, indices };
  }
  /** Maximum over `dim` (values only). */
  amax(dim: number | number[], options: ReduceOptions = {}): Tensor {
    return T('amax', [this, typeof dim === 'number' ? [dim] : dim, options.keepdim ?? false]);
  }
  amin(dim: number | number[], options: ReduceOptions = {}): Tensor {
    return T('amin', [this, typeof dim === 'number' ? [dim] : dim, options.keepdim ?? false]);
  }
  argmax(dim?: number, options: ReduceOptions = {}): Tensor {
    return T('argmax', [this, dim ?? null, options.keepdim ?? false]);
  }
  argmin(dim?: number, options: ReduceOptions = {}): Tensor {
    return T('argmin', [this, dim ?? null, options.keepdim ?? false]);
  }
  topk(k: number, dim = -1, options: { largest?: boolean; sorted?: boolean } = {}): { values: Tensor; indices: Tensor } {
    const [values, indices] = call('topk', [this, k, dim, options.largest ?? true, options.sorted ?? true]) as Tensor[];
    return { values, indices };
  }
  sort(dim = -1, options: { descending?: boolean; stable?: boolean } = {}): { values: Tensor; indices: Tensor } {
    const [values, indices] = call('sort.stable', [this], { stable: options.stable ?? false, dim, descending: options.descending ?? false }) as Tensor[];
    return { values, indices };
  }
  argsort(dim = -1, options: { descending?: boolean } = {}): Tensor {
    return T('argsort', [this, dim, options.descending ?? false]);
  }
  logsumexp(dim: number | number[], options: ReduceOptions = {}): Tensor {
    return T('logsumexp', [this, dims(dim), options.keepdim ?? false]);
  }
  /** p-norm over all elements or along `dim` (p = 2 by default). */
  norm(p = 2, dim?: number | number[], options: ReduceOptions = {}): Tensor {
    if (dim === undefined) return T('norm.Scalar', [this, p]);
    return T('norm.ScalarOpt_dim', [this, p, dims(dim), options.keepdim ?? false]);
  }
  cumsum(dim: number): Tensor {
    return T('cumsum', [this, dim]);
  }
  any(): Tensor {
    return T('any', [this]);
  }
  all(): Tensor {
    return T('all', [this]);
  }

  // ---- linear algebra and nn -----------------------------------------------------------------

  matmul(other: Tensor): Tensor {
    return T('matmul', [this, other]);
  }
  mm(other: Tensor): Tensor {
    return T('mm', [this, other]);
  }
  bmm(other: Tensor): Tensor {
    return T('bmm', [this, other]);
  }
  dot(other: Tensor): Tensor {
    return T('dot', [this, other]);
  }
  softmax(dim: number): Tensor {
    return T('softmax.int', [this, dim]);
  }
  logSoftmax(dim: number): Tensor {
    return T('log_softmax.int', [this, dim]);
  }

  // ---- display -------------------------------------------------------------------------------

  /** Python's repr: `tensor([1.5000, 2.0000], dtype=torch.float64, requires_grad=True)` (see print.ts). */
  toString(): string {
    if (this.isDisposed) return 'tensor(disposed)';
    const shape = this.shape;
    const numel = shape.reduce((a, b) => a * b, 1);
    const gradFn = native.gradFnName(this);
    const requiresGrad = this.requiresGrad;
    // Only the edge items are read back when summarising, so a huge tensor prints quickly.
    const { values, cut, printed } = scope(() => {
      let t = this.detach();
      const cutDims = shape.map((n) => summarizes(numel) && n > 2 * EDGE);
      cutDims.forEach((c, d) => {
        if (c) t = T('cat', [[t.narrow(d, 0, EDGE), t.narrow(d, shape[d] - EDGE, EDGE)], d]);
      });
      return { values: numel === 0 ? new Float32Array(0) : t.data(), cut: cutDims, printed: t.shape };
    });
    return formatTensor({ values, shape: printed, cut, dtype: this.dtype, device: this.device, fullShape: shape, gradFn, requiresGrad });
  }
  [inspect.custom](): string {
    return this.toString();
  }
  /**
   * What JSON.stringify writes: {shape, dtype, device, requiresGrad} and, for tensors of at most
   * 1000 elements (PyTorch's print threshold), `values` as toArray() gives them; int64 values past
   * 2^53 are written as strings, to stay exact.
   */
  toJSON(): { shape: number[]; dtype: DType; device: Device; requiresGrad: boolean; values?: unknown } | { disposed: true } {
    if (this.isDisposed) return { disposed: true };
    const out: { shape: number[]; dtype: DType; device: Device; requiresGrad: boolean; values?: unknown } = {
      shape: this.shape,
      dtype: this.dtype,
      device: this.device,
      requiresGrad: this.requiresGrad,
    };
    if (!summarizes(this.numel())) {
      const exact = (v: number | bigint) => (typeof v === 'bigint' && (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) ? v.toString() : Number(v));
      out.values = this.dtype === 'int64' ? nestWith(this.data(), this.shape, exact) : this.toArray();
    }
    return out;
  }
}

function flatShape(shape: number[] | [number[]]): number[] {
  return Array.isArray(shape[0]) ? (shape[0] as number[]) : (shape as number[]);
}

function nest(flat: AnyTypedArray, shape: number[], dtype: DType): NestedArray {
  const convert = dtype === 'bool' ? (v: number | bigint): number | boolean => v !== 0 : (v: number | bigint): number | boolean => Number(v);
  return nestWith(flat, shape, convert) as NestedArray;
}

function nestWith<V>(flat: AnyTypedArray, shape: number[], convert: (v: number | bigint) => V): V | unknown[] {
  const build = (offset: number, d: number): V | unknown[] => {
    if (d === shape.length) return convert(flat[offset]);
    const stride = shape.slice(d + 1).reduce((a, b) => a * b, 1);
    const out: unknown[] = [];
    for (let i = 0; i < shape[d]; i++) out.push(build(offset + i * stride, d + 1));
    return out;
  };
  return build(0, 0);
}

// Slices cross as [start, end, step] arrays: read by position, cheaper than by name.
function toNativeIndex(i: Index): unknown {
  if (i instanceof Tensor) return i.checked('index');
  if (i !== null && typeof i === 'object') return [i.start ?? null, i.end ?? null, i.step ?? null];
  return i;
}

export type { OpResult };
