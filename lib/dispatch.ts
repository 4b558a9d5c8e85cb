// Calling ATen ops by name: JS values in, Tensors out. The native side matches arguments to the
// op's schema; here we only swap Tensors for their handles and back, and cache op ids.
import { native, NativeValue, TensorHandle } from './native';
import { Tensor } from './tensor';

export type OpResult = Tensor | OpResult[] | number | boolean | string | null | undefined;

function toNative(value: unknown, op: string): unknown {
  if (value instanceof Tensor) return value.handleFor(op);
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const converted = toNative(v, op);
      if (converted !== v) {
        out ??= value.slice();
        out[i] = converted;
      }
    }
    return out ?? value;
  }
  return value;
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

function fromNative(value: NativeValue, args: unknown[]): OpResult {
  if (value === null || value === undefined) return value;
  if (typeof value === 'object') {
    if (Array.isArray(value)) return value.map((v) => fromNative(v, args));
    // In-place and out= ops hand back an input's handle: return that very Tensor.
    return findInput(value, args) ?? Tensor.fromHandle(value);
  }
  return value;
}

/** A caller for one ATen op (e.g. 'add', 'aten::conv2d', 'max.dim'), resolved on first use. */
export function op(name: string): (args: unknown[], kwargs?: Record<string, unknown>) => OpResult {
  let id = -1;
  return (args, kwargs) => {
    if (id < 0) id = native.resolveOp(name);
    let nativeKwargs: Record<string, unknown> | undefined;
    let inputs = args;
    if (kwargs) {
      nativeKwargs = {};
      for (const key of Object.keys(kwargs)) nativeKwargs[key] = toNative(kwargs[key], name);
      inputs = args.concat(Object.values(kwargs));
    }
    return fromNative(native.callOp(id, toNative(args, name) as unknown[], nativeKwargs), inputs);
  };
}

const callers = new Map<string, ReturnType<typeof op>>();

/**
 * Calls any ATen op by name with positional and keyword arguments, exactly as its schema
 * reads (`opSchemas(name)` lists them): `call('addcmul', [x, a, b], { value: 0.5 })`.
 */
export function call(name: string, args: unknown[] = [], kwargs?: Record<string, unknown>): OpResult {
  let caller = callers.get(name);
  if (!caller) {
    caller = op(name);
    callers.set(name, caller);
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
