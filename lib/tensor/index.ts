// The Tensor class: a JS owner of one LibTorch tensor with PyTorch's methods in camelCase.
// This file holds what a Tensor is (its native handle, lifetime, metadata, autograd, readback and
// display); the op methods, one ATen op call each (see dispatch.ts), live in one file per family
// (conversion, shape, indexing, arithmetic, fill, comparison, reductions, linalg) and are copied
// onto Tensor.prototype below: the same functions on one flat prototype, so a call costs what a
// method defined here costs. The handle internals that lib/ uses (fromHandle, checked, takeHandle...)
// carry the JSDoc tag `internal`, so the published .d.ts omits them (stripInternal in tsconfig.build.json).
import { inspect } from 'util';
import { call, OpResult } from '../dispatch';
import { AnyTypedArray, DType, isFloating, viewAs } from '../dtype';
import { gcOwned, keep, scope, track } from '../memory';
import { EDGE, formatTensor, summarizes } from '../print';
import { native, TensorHandle } from '../native';
import { T } from './call';
import { ArithmeticMethods } from './arithmetic';
import { ComparisonMethods } from './comparison';
import { ConversionMethods } from './conversion';
import { FillMethods } from './fill';
import { IndexingMethods } from './indexing';
import { LinalgMethods } from './linalg';
import { ReductionMethods } from './reductions';
import { ShapeMethods } from './shape';
import type { Device, MemoryFormat, NestedArray } from './types';

export type { Device, Index, MemoryFormat, NestedArray, ReduceOptions, Scalar, Slice, TensorOrScalar } from './types';

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

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface below
export class Tensor {
  /** Lets scopes recognise tensors without importing this class. @internal */
  readonly __isTensor = true;
  /** The native handle, null once disposed. The native side reads this property. */
  private [HANDLE]: TensorHandle | null;
  private _kept = false;
  private _collectable = false;

  private constructor(handle: TensorHandle) {
    this[HANDLE] = handle;
  }

  /** Wraps a native handle; the innermost scope becomes its owner, else the garbage collector. @internal */
  static fromHandle(handle: TensorHandle): Tensor {
    const t = new Tensor(handle);
    if (!track(t)) t.collectWhenUnreachable();
    return t;
  }

  /** The native handle; throws a clear Error once disposed. @internal */
  get handle(): TensorHandle {
    return this.checked('Tensor')[HANDLE] as TensorHandle;
  }

  /** This tensor, for passing to native code; throws "<op>: the tensor was disposed ..." once disposed. @internal */
  checked(op: string): this {
    if (this[HANDLE] === null) throw new Error(`${op}: the tensor was disposed and can no longer be used`);
    return this;
  }

  // ---- lifetime --------------------------------------------------------------------------

  /** Frees the tensor's memory now. Idempotent; any later use throws. */
  dispose(): void {
    const handle = this.takeHandle();
    if (handle !== null) native.disposeTensor(handle);
  }

  /**
   * Marks this tensor disposed and hands its handle (null if already disposed) to the caller, who
   * must free it: scopes free many in one native call. @internal
   */
  takeHandle(): TensorHandle | null {
    const handle = this[HANDLE];
    if (handle === null) return null;
    if (this._collectable) collector.unregister(this);
    this[HANDLE] = null;
    return handle;
  }

  /** Lets the garbage collector free this tensor once it is unreachable (tensors no scope will free). @internal */
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

  /** Exempts this tensor from scopes from now on (what keep() does). @internal */
  markKept(): void {
    this._kept = true;
    this.collectWhenUnreachable();
  }

  // ---- metadata --------------------------------------------------------------------------

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
    if (d < 0 || d >= shape.length)
      throw new RangeError(`size: dimension ${dim} is out of range for a ${shape.length}-d tensor`);
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

  // ---- autograd --------------------------------------------------------------------------

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

  // ---- readback --------------------------------------------------------------------------

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
    if (typeof v === 'bigint')
      throw new RangeError(`item: the int64 value ${v} has no exact JS number (past 2^53); use itemBigInt() for it`);
    return Number(v);
  }
  /** The exact value of a one-element integer or bool tensor as a bigint (int64 past 2^53 included). */
  itemBigInt(): bigint {
    const dtype = this.dtype;
    if (isFloating(dtype))
      throw new TypeError(`itemBigInt: the tensor must have an integer or bool dtype, got ${dtype}; use item()`);
    const v = native.item(this.checked('itemBigInt'));
    return typeof v === 'bigint' ? v : BigInt(Number(v));
  }
  /**
   * Nested arrays like Python's tolist(): numbers, or booleans for bool tensors. An int64 value past
   * 2^53, which no number holds exactly, is a RangeError (data() gives the exact BigInt64Array).
   */
  toArray(): NestedArray {
    return nest(this.data(), this.shape, this.dtype);
  }
  async toArrayAsync(): Promise<NestedArray> {
    const shape = this.shape;
    return nest(await this.dataAsync(), shape, this.dtype);
  }

  // ---- display ---------------------------------------------------------------------------

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
    return formatTensor({
      values,
      shape: printed,
      cut,
      dtype: this.dtype,
      device: this.device,
      fullShape: shape,
      gradFn,
      requiresGrad,
    });
  }
  [inspect.custom](): string {
    return this.toString();
  }
  /**
   * What JSON.stringify writes: {shape, dtype, device, requiresGrad} and, for tensors of at most
   * 1000 elements (PyTorch's print threshold), `values` as toArray() gives them; int64 values past
   * 2^53 are written as strings, to stay exact.
   */
  toJSON():
    { shape: number[]; dtype: DType; device: Device; requiresGrad: boolean; values?: unknown } | { disposed: true } {
    if (this.isDisposed) return { disposed: true };
    const out: { shape: number[]; dtype: DType; device: Device; requiresGrad: boolean; values?: unknown } = {
      shape: this.shape,
      dtype: this.dtype,
      device: this.device,
      requiresGrad: this.requiresGrad,
    };
    if (!summarizes(this.numel())) {
      const exact = (v: number | bigint) =>
        typeof v === 'bigint' && (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER))
          ? v.toString()
          : Number(v);
      out.values = this.dtype === 'int64' ? nestWith(this.data(), this.shape, exact) : this.toArray();
    }
    return out;
  }
}

// The op methods' declarations, merged into the class's type (TypeScript's mixin pattern; the
// methods are installed on the prototype by the family files, so the merge is safe).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface Tensor
  extends
    ConversionMethods,
    ShapeMethods,
    IndexingMethods,
    ArithmeticMethods,
    FillMethods,
    ComparisonMethods,
    ReductionMethods,
    LinalgMethods {}

for (const family of [
  ConversionMethods,
  ShapeMethods,
  IndexingMethods,
  ArithmeticMethods,
  FillMethods,
  ComparisonMethods,
  ReductionMethods,
  LinalgMethods,
]) {
  for (const name of Object.getOwnPropertyNames(family.prototype)) {
    if (name === 'constructor') continue;
    // Copied as defined (non-enumerable, getters as getters), as class methods are.
    Object.defineProperty(Tensor.prototype, name, Object.getOwnPropertyDescriptor(family.prototype, name)!);
  }
}

function nest(flat: AnyTypedArray, shape: number[], dtype: DType): NestedArray {
  // an int64 that no number holds exactly (past 2^53) would come back rounded: refused, as item() refuses it
  const exact = (v: number | bigint): number => {
    if (typeof v === 'bigint' && BigInt(Number(v)) !== v)
      throw new RangeError(
        `toArray: the int64 value ${v} has no exact JS number (past 2^53); data() gives the exact BigInt64Array`,
      );
    return Number(v);
  };
  const convert =
    dtype === 'bool' ? (v: number | bigint): number | boolean => v !== 0 : dtype === 'int64' ? exact : Number;
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

export type { OpResult };
