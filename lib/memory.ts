// Deterministic tensor lifetime: scopes free what a block created, except what it returns or
// keeps. Scopes follow async context (AsyncLocalStorage), so they work across `await` and two
// concurrent scopes never free each other's tensors.
import { AsyncLocalStorage } from 'async_hooks';
import * as v8 from 'v8';
import * as vm from 'vm';
import { native, LiveTensorStats, TensorHandle } from './native';
import type { Tensor } from './tensor';

class Scope {
  readonly created: Tensor[] = [];
  /** Set when the scope has freed its tensors: work it started and left running (a promise not
   * awaited) still sees it as the current scope, but can no longer hand it tensors. */
  finished = false;
}

const current = new AsyncLocalStorage<Scope>();

/** Called for every Tensor created: the innermost scope (if any) owns it. False when none does. */
export function track(tensor: Tensor): boolean {
  const scope = current.getStore();
  if (!scope || scope.finished) return false;
  scope.created.push(tensor);
  return true;
}

function isTensor(value: unknown): value is Tensor {
  return typeof value === 'object' && value !== null && (value as { __isTensor?: boolean }).__isTensor === true;
}

function collect(value: unknown, out: Set<Tensor>, seen: Set<unknown>): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  if (isTensor(value)) {
    out.add(value);
  } else if (Array.isArray(value) || value instanceof Set) {
    for (const v of value) collect(v, out, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, out, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out, seen);
  }
}

function finish<T>(scope: Scope, result: T): T {
  scope.finished = true;
  const returned = new Set<Tensor>();
  collect(result, returned, new Set());
  const store = current.getStore();
  const parent = store && !store.finished ? store : undefined;
  const freed: TensorHandle[] = [];
  for (const t of scope.created) {
    if (returned.has(t) || t.isKept) {
      if (t.isKept) continue;
      if (parent) parent.created.push(t);
      else t.collectWhenUnreachable();
    } else {
      const handle = t.takeHandle();
      if (handle !== null) freed.push(handle);
    }
  }
  native.disposeTensors(freed); // one native call for the lot
  return result;
}

function abandon(scope: Scope): void {
  scope.finished = true;
  const freed: TensorHandle[] = [];
  for (const t of scope.created) {
    const handle = t.isKept ? null : t.takeHandle();
    if (handle !== null) freed.push(handle);
  }
  native.disposeTensors(freed);
}

/**
 * Runs `fn` and frees every tensor it created, except those in its result (a Tensor, or arrays,
 * plain objects, Maps and Sets holding them) and those passed to `keep()`. Returned tensors move
 * to the enclosing scope. `fn` may be async: the scope ends when its promise settles. Tensors
 * created by a throwing `fn` are freed too.
 */
export function scope<T>(fn: () => T): T {
  const s = new Scope();
  let result: T;
  try {
    result = current.run(s, fn);
  } catch (e) {
    abandon(s);
    throw e;
  }
  if (result instanceof Promise) {
    return result.then(
      (value) => finish(s, value),
      (error) => {
        abandon(s);
        throw error;
      },
    ) as T;
  }
  return finish(s, result);
}

/** Exempts tensors from every scope (model weights, optimizer state, queues). */
export function keep<T extends Tensor | Tensor[]>(tensors: T): T {
  for (const t of Array.isArray(tensors) ? tensors : [tensors]) t.markKept();
  return tensors;
}

/** Tensors alive in this process (not yet disposed or collected) and the bytes they hold. */
export function liveTensors(): LiveTensorStats {
  return native.liveTensors();
}

/** Starts peak-memory tracking afresh (per device, from the current live bytes). */
export function resetPeakMemory(): void {
  native.resetPeakMemory();
}

// ---- tensors the GC owns ----------------------------------------------------------------------
//
// Tensors no scope owns are freed once V8 collects their JS objects (native weak references, swept
// synchronously; a FinalizationRegistry from the event loop). V8 does hear of their host bytes
// (napi_adjust_external_memory), but its wrappers are small and long-lived, so it let a plain
// training loop (no scopes, no dispose) gather about 100 MB of GC-owned tensors before one major
// GC, and RSS grew about five times faster than those bytes (the heap fragments around them).
// So after every `budget` host bytes handed to the GC beyond what survived the last collection,
// one full collection runs here, then a sweep: the GC-owned bytes stay below survivors + budget.
// A full collection costs with the size of the JS heap (~60 ms in a tsx script, seconds in a jest
// worker), so the budget is the JS heap that survived the last collection, at least 32 MiB: the
// collector's work per byte of tensors freed stays constant, as with V8's own heap growth.
// UNMIX_GC_BUDGET (bytes) fixes it. Scoped code never gets here: nothing is handed to the GC.
const fixedBudget = Number(process.env.UNMIX_GC_BUDGET) > 0 ? Number(process.env.UNMIX_GC_BUDGET) : undefined;
const MIN_BUDGET = 32 * 2 ** 20;
let budget = fixedBudget ?? MIN_BUDGET;
let survivors = 0;
let fullGc: (() => void) | undefined;

function collectNow(): void {
  if (!fullGc) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) fullGc = exposed;
    else {
      // V8 exposes its collector to contexts made while --expose-gc is set; only this one is
      v8.setFlagsFromString('--expose-gc');
      fullGc = vm.runInNewContext('gc') as () => void;
      v8.setFlagsFromString('--no-expose-gc');
    }
  }
  fullGc(); // a full one: a scavenge leaves N-API weak references set
}

/** Called with the GC-owned host bytes each time a tensor is handed to the GC. Internal. */
export function gcOwned(bytes: number): void {
  if (bytes < survivors + budget) return;
  collectNow();
  native.sweepCollected();
  survivors = native.liveTensors().gcBytes;
  budget = fixedBudget ?? Math.max(MIN_BUDGET, v8.getHeapStatistics().used_heap_size);
}
