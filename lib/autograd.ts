// Autograd entry points beyond Tensor.backward(): grad(), and grad-mode scopes.
// Grad mode is thread-local in LibTorch; these scopes run on the JS thread, where every op runs,
// and native work that hops threads carries the mode with it.
import { native } from './native';
import { Tensor } from './tensor';

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const previous = native.isGradEnabled();
  native.setGradEnabled(enabled);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    native.setGradEnabled(previous);
    throw e;
  }
  if (result instanceof Promise) {
    // Restored when the async block settles. Other async work interleaved with it on the JS
    // thread sees the same mode meanwhile, as in PyTorch with threads sharing one mode.
    return result.finally(() => native.setGradEnabled(previous)) as T;
  }
  native.setGradEnabled(previous);
  return result;
}

/** Runs `fn` without recording operations for autograd (torch.no_grad). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with autograd recording on, even inside noGrad (torch.enable_grad). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

export function setGradEnabled(enabled: boolean): void {
  native.setGradEnabled(enabled);
}

export interface GradOptions {
  gradOutputs?: (Tensor | null)[];
  retainGraph?: boolean;
  createGraph?: boolean;
  allowUnused?: boolean;
}

/** Gradients of `outputs` with respect to `inputs`, without touching `.grad` (torch.autograd.grad). */
export function grad(
  outputs: Tensor | Tensor[],
  inputs: Tensor | Tensor[],
  options: GradOptions = {},
): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const result = native.autogradGrad(
    outs.map((t) => t.checked('grad')),
    ins.map((t) => t.checked('grad')),
    options.gradOutputs ? options.gradOutputs.map((t) => (t ? t.checked('grad') : null)) : null,
    options.retainGraph,
    options.createGraph ?? false,
    options.allowUnused ?? false,
  );
  return result.map((h) => (h ? Tensor.fromHandle(h) : null));
}

/** Backward from several tensors at once (torch.autograd.backward). */
export function backward(
  tensors: Tensor[],
  gradTensors?: (Tensor | null)[],
  options: { retainGraph?: boolean; createGraph?: boolean } = {},
): void {
  native.backward(
    tensors.map((t) => t.checked('backward')),
    gradTensors ? gradTensors.map((t) => (t ? t.checked('backward') : null)) : null,
    options.retainGraph,
    options.createGraph ?? false,
  );
}
