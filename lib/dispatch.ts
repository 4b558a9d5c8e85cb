// Calling ATen ops by name: JS values in, Tensors out. The native side matches arguments to the
// op's schema and reads each Tensor's handle itself; here we only check that no argument was
// disposed (for an error naming the op as called), wrap results, and cache op ids.
import { native, BoxedValue, CallResult, TensorHandle } from './native';
import { Tensor } from './tensor';

export type OpResult = Tensor | OpResult[] | number | boolean | string | null | undefined;

function checkLive(values: unknown[], op: string): void {
  for (const v of values) {
    if (v instanceof Tensor) v.checked(op);
    else if (Array.isArray(v)) checkLive(v, op);
  }
}

function findInput(handle: TensorHandle, args: unknown[]): Tensor | undefined {
  for (const a of args) {
    if (a instanceof Tensor && a.handle === handle) return a;
    if (Array.isArray(a)) {
      const found = findInput(handle, a);
      if (found) return found;
    }
  }
  return undefined;
}

// Keyword arguments left undefined mean "the default", as if not given; undefined when none is left
// (the native side looks keyword arguments up by name, so fewer is faster).
function definedOnly(kwargs: Record<string, unknown>): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const key in kwargs) {
    if (kwargs[key] === undefined) continue;
    out ??= {};
    out[key] = kwargs[key];
  }
  return out;
}

// In-place and out= ops hand back an input's handle: return that very Tensor.
function wrap(handle: TensorHandle, args: unknown[]): Tensor {
  return findInput(handle, args) ?? Tensor.fromHandle(handle);
}

function unbox(value: BoxedValue, args: unknown[]): OpResult {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => unbox(v, args));
  return wrap(value.handle, args);
}

function fromNative(value: CallResult, args: unknown[]): OpResult {
  if (typeof value === 'number') return wrap(value, args);
  if (value === null || value === undefined) return value;
  return unbox(value.result, args);
}

export interface CallOptions {
  /**
   * Also reach what `call` refuses by default: LibTorch internals (`_*`, other namespaces),
   * backward kernels, sparse/mkldnn/quantized families, listed unchecked kernels and
   * `unsafe=true` arguments. Their kernels trust their arguments: the caller takes the risk that
   * inconsistent ones crash the process.
   */
  unchecked?: boolean;
}

/** A caller for one ATen op (e.g. 'add', 'aten::conv2d', 'max.dim'), resolved on first use. */
export function op(
  name: string,
  options: CallOptions = {},
): (args: unknown[], kwargs?: Record<string, unknown>) => OpResult {
  let id = -1;
  const unchecked = options.unchecked === true;
  return (args, kwargs) => {
    if (id < 0) id = native.resolveOp(name, unchecked);
    checkLive(args, name);
    const given = kwargs && definedOnly(kwargs);
    if (!given) return fromNative(native.callOp(id, args), args);
    const inputs = args.concat(Object.values(given));
    checkLive(inputs, name);
    return fromNative(native.callOp(id, args, given), inputs);
  };
}

const callers = new Map<string, ReturnType<typeof op>>();

/**
 * Calls any public ATen op by name with positional and keyword arguments, exactly as its schema
 * reads (`opSchemas(name)` lists them): `call('addcmul', [x, a, b], { value: 0.5 })`. Ops whose
 * kernels trust their arguments are refused unless `options.unchecked` (see CallOptions).
 */
export function call(
  name: string,
  args: unknown[] = [],
  kwargs?: Record<string, unknown>,
  options: CallOptions = {},
): OpResult {
  const key = options.unchecked === true ? `${name}#unchecked` : name;
  let caller = callers.get(key);
  if (!caller) {
    caller = op(name, options);
    callers.set(key, caller);
  }
  return caller(args, kwargs);
}

/** The schemas of every overload `call(name, ...)` chooses between. */
export function opSchemas(name: string): string[] {
  return native.opSchemas(name);
}

/** Every ATen operator name the loaded LibTorch registers. */
export function listOps(): string[] {
  return native.listOps().sort();
}
