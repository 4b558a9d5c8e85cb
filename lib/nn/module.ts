// Modules: named parameters, buffers and children, train/eval, device/dtype moves, and state
// dicts whose keys match PyTorch's (`layer1.0.conv1.weight`), so weights carry over both ways.
import { noGrad } from '../autograd';
import { DType } from '../dtype';
import { keep } from '../memory';
import { Device, MemoryFormat, Tensor } from '../tensor';

export type StateDict = Record<string, Tensor>;

export abstract class Module {
  training = true;
  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor | null>();
  private readonly _modules = new Map<string, Module>();

  /** A trainable tensor: requires grad and is kept out of every scope. `null` registers an absent one (bias=False). */
  protected registerParameter(name: string, tensor: Tensor | null): Tensor | null {
    if (tensor) keep(tensor.requiresGrad ? tensor : tensor.requiresGrad_(true));
    this._parameters.set(name, tensor);
    return tensor;
  }

  /** Non-trainable state that belongs in the state dict (running statistics). */
  protected registerBuffer(name: string, tensor: Tensor | null): Tensor | null {
    if (tensor) keep(tensor);
    this._buffers.set(name, tensor);
    return tensor;
  }

  protected registerModule<M extends Module>(name: string, module: M): M {
    this._modules.set(name, module);
    return module;
  }

  /** The tensor registered under `name` (for subclasses' forward passes). */
  protected param(name: string): Tensor | null {
    return this._parameters.get(name) ?? null;
  }
  protected buffer(name: string): Tensor | null {
    return this._buffers.get(name) ?? null;
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    return this.collect(prefix, (m) => m._parameters);
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }
  namedBuffers(prefix = ''): [string, Tensor][] {
    return this.collect(prefix, (m) => m._buffers);
  }
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }
  namedChildren(): [string, Module][] {
    return [...this._modules.entries()];
  }
  /** This module and every descendant, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this._modules) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  private collect(prefix: string, pick: (m: Module) => Map<string, Tensor | null>): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, module] of this.namedModules(prefix)) {
      for (const [key, t] of pick(module)) if (t) out.push([name ? `${name}.${key}` : key, t]);
    }
    return out;
  }

  /** Number of parameter elements (trainable only when asked). */
  numParameters(options: { trainableOnly?: boolean } = {}): number {
    return this.parameters()
      .filter((p) => !options.trainableOnly || p.requiresGrad)
      .reduce((n, p) => n + p.numel(), 0);
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Drops every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Stops (or restarts) gradient recording for every parameter. */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /**
   * Moves parameters and buffers to a device and/or casts floating ones to a dtype. The module
   * gets new tensors (the old ones are freed), so create optimizers after moving, as in PyTorch.
   */
  to(target: Device | DType | { device?: Device; dtype?: DType; memoryFormat?: MemoryFormat }): this {
    const { device, dtype, memoryFormat } = typeof target === 'string' ? (target === 'cpu' || target.startsWith('cuda') ? { device: target as Device } : { dtype: target as DType }) : target;
    for (const [, m] of this.namedModules()) {
      for (const table of [m._parameters, m._buffers]) {
        for (const [key, t] of table) {
          if (!t) continue;
          const floating = t.dtype.startsWith('float') || t.dtype === 'bfloat16';
          let moved = noGrad(() => t.to({ device: device ?? (t.device as Device), dtype: floating && dtype ? dtype : t.dtype }));
          // as PyTorch's module.to(memory_format=...): 4-d tensors (convolution weights) take the layout
          if (memoryFormat && t.ndim === 4) {
            const laidOut = noGrad(() => moved.contiguous(memoryFormat));
            if (moved !== t && laidOut !== moved) moved.dispose();
            moved = laidOut;
          }
          if (moved === t) continue;
          if (table === m._parameters) moved.requiresGrad_(t.requiresGrad);
          keep(moved);
          table.set(key, moved);
          t.dispose();
        }
      }
    }
    return this;
  }

  /** Parameters and buffers by dotted name. The tensors are the module's own (not copies). */
  stateDict(): StateDict {
    return Object.fromEntries([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Copies values from a state dict. Strict by default: missing, unexpected and wrongly shaped
   * keys are all reported in one Error, and nothing is copied unless everything matches.
   */
  loadStateDict(state: StateDict, options: { strict?: boolean } = {}): { missing: string[]; unexpected: string[] } {
    const check = this.checkStateDict(state, options);
    if (check.error) throw new Error(`loadStateDict: ${check.error}`);
    const own = this.stateDict();
    noGrad(() => {
      for (const [k, t] of Object.entries(own)) if (k in state) t.copy_(state[k]);
    });
    return { missing: check.missing, unexpected: check.unexpected };
  }

  /** What loadStateDict would report, without copying anything (error: null when it would load). */
  checkStateDict(state: StateDict, options: { strict?: boolean } = {}): { missing: string[]; unexpected: string[]; error: string | null } {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const missing = Object.keys(own).filter((k) => !(k in state));
    const unexpected = Object.keys(state).filter((k) => !(k in own));
    const misshapen = Object.keys(own)
      .filter((k) => k in state && own[k].shape.join() !== state[k].shape.join())
      .map((k) => `${k}: expected [${own[k].shape.join(', ')}], got [${state[k].shape.join(', ')}]`);
    const parts = [];
    if (strict && missing.length) parts.push(`missing keys: ${missing.join(', ')}`);
    if (strict && unexpected.length) parts.push(`unexpected keys: ${unexpected.join(', ')}`);
    if (misshapen.length) parts.push(`wrong shapes: ${misshapen.join('; ')}`);
    return { missing, unexpected, error: parts.length ? parts.join('; ') : null };
  }

  /** Frees every parameter and buffer now. */
  dispose(): void {
    for (const t of [...this.parameters(), ...this.buffers()]) t.dispose();
  }

  abstract forward(...inputs: Tensor[]): Tensor;
}
