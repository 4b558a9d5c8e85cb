// Modules: named parameters, buffers and children, train/eval, device/dtype moves, and state
// dicts whose keys match PyTorch's (`layer1.0.conv1.weight`), so weights carry over both ways.
import { inspect } from 'util';
import { noGrad } from '../autograd';
import { DType } from '../dtype';
import { keep } from '../memory';
import { Device, MemoryFormat, Tensor } from '../tensor';
import { setData } from './set-data';

export type StateDict = Record<string, Tensor>;

export interface ModuleJSON {
  type: string;
  extra: string;
  parameters: Record<string, { shape: number[]; dtype: DType } | null>;
  buffers: Record<string, { shape: number[]; dtype: DType } | null>;
  children: Record<string, ModuleJSON>;
}

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
    this.adoptFields();
    return [...this._modules.entries()];
  }
  /** This module and every descendant, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren())
      out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /**
   * Registers what torch.nn's __setattr__ would have: Module-valued own fields as children and
   * tensors that require grad as parameters (our nn.Parameter), in declaration order after those
   * registered explicitly. Fields are set after super() returns, so this runs lazily, whenever
   * children or tensors are listed. A field named like a registered child replaces it (as
   * `model.fc = new Linear(...)` does in PyTorch), and null there removes it. A field module whose
   * tensors are all registered already (a backbone whose children were registered one by one) is
   * an alias, not a child, so no tensor gets a second name. Arrays are left alone, as Python lists.
   */
  private adoptFields(): void {
    for (const key of Object.keys(this)) {
      if (key === 'training') continue;
      const value = (this as Record<string, unknown>)[key];
      if (value instanceof Module) {
        if (value === this || this._modules.get(key) === value || this.isAlias(value)) continue;
        this._modules.set(key, value);
      } else if (value === null && this._modules.has(key)) {
        this._modules.delete(key);
      } else if (
        value instanceof Tensor &&
        !value.isDisposed &&
        value.isLeaf &&
        value.requiresGrad &&
        !this._parameters.has(key) &&
        !this.owns(value)
      ) {
        this.registerParameter(key, value);
      }
    }
  }
  /** Field modules found to be aliases (decided once: this runs whenever children are listed). */
  private readonly _aliases = new WeakSet<Module>();
  private isAlias(m: Module): boolean {
    if (this._aliases.has(m) || [...this._modules.values()].includes(m)) return true;
    const owned = this.ownedTensors();
    const tensors = [...m.parameters(), ...m.buffers()];
    const alias = tensors.length > 0 && tensors.every((t) => owned.has(t));
    if (alias) this._aliases.add(m);
    return alias;
  }
  /** Whether `t` is one of the tensors registered here or in a registered descendant. */
  private owns(t: Tensor): boolean {
    return this.ownedTensors().has(t);
  }
  private ownedTensors(): Set<Tensor> {
    const owned = new Set<Tensor>();
    for (const table of [this._parameters, this._buffers]) for (const v of table.values()) if (v) owned.add(v);
    for (const child of this._modules.values())
      for (const t of [...child.parameters(), ...child.buffers()]) owned.add(t);
    return owned;
  }

  /**
   * Swaps modules throughout a tree (torch's `add_module` on each parent, as convert_sync_batchnorm
   * does): `replace(m)` gives m's replacement or undefined. Every reference is updated, the registered
   * child (same name and place, so state-dict keys stay) and fields, arrays included, also those of
   * field-held aliases, since forwards call fields. Returns the root's replacement, or the root.
   */
  static replaceModules(root: Module, replace: (m: Module) => Module | undefined): Module {
    const swapped = new Map<Module, Module>();
    const seen = new Set<Module>();
    const swap = (m: Module): Module => {
      visit(m);
      if (!swapped.has(m)) swapped.set(m, replace(m) ?? m);
      return swapped.get(m)!;
    };
    const inArray = (a: unknown[]): void => {
      a.forEach((v, i) => {
        if (v instanceof Module) a[i] = swap(v);
        else if (Array.isArray(v)) inArray(v);
      });
    };
    const visit = (m: Module): void => {
      if (seen.has(m)) return;
      seen.add(m);
      m.adoptFields(); // field children get their names first
      for (const [name, child] of [...m._modules]) m._modules.set(name, swap(child));
      const fields = m as unknown as Record<string, unknown>;
      for (const key of Object.keys(m)) {
        const v = fields[key];
        if (v instanceof Module && v !== m) fields[key] = swap(v);
        else if (Array.isArray(v)) inArray(v);
      }
    };
    return swap(root);
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
   * Moves parameters and buffers to a device and/or casts floating ones to a dtype, in place: each
   * keeps its Tensor object and gets new data (PyTorch's `param.data = fn(param)`, through
   * aten::set_data), so fields, optimizers built before and their state keys stay valid.
   * Gradients move with their parameter, as in PyTorch. Buffers keep their objects too (PyTorch
   * replaces buffers; keeping them lets fields that hold them, such as queues, stay valid).
   */
  to(target: Device | DType | { device?: Device; dtype?: DType; memoryFormat?: MemoryFormat }): this {
    const { device, dtype, memoryFormat } =
      typeof target === 'string'
        ? target === 'cpu' || target.startsWith('cuda')
          ? { device: target as Device }
          : { dtype: target as DType }
        : target;
    for (const [, m] of this.namedModules()) {
      for (const table of [m._parameters, m._buffers]) {
        for (const [, t] of table) {
          if (!t) continue;
          const floating = t.dtype.startsWith('float') || t.dtype === 'bfloat16';
          let moved = noGrad(() =>
            t.to({ device: device ?? (t.device as Device), dtype: floating && dtype ? dtype : t.dtype }),
          );
          // as PyTorch's module.to(memory_format=...): 4-d tensors (convolution weights) take the layout
          if (memoryFormat && t.ndim === 4) {
            const laidOut = noGrad(() => moved.contiguous(memoryFormat));
            if (moved !== t && laidOut !== moved) moved.dispose();
            moved = laidOut;
          }
          if (moved === t) continue;
          const grad = table === m._parameters ? t.grad : null;
          if (grad) t.grad = null; // a grad must match its tensor's dtype and device
          setData(t, moved);
          moved.dispose(); // t holds its data now
          if (grad) {
            const movedGrad = noGrad(() => grad.to({ device: t.device as Device, dtype: t.dtype }));
            t.grad = movedGrad;
            if (movedGrad !== grad) movedGrad.dispose();
            grad.dispose();
          }
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
  checkStateDict(
    state: StateDict,
    options: { strict?: boolean } = {},
  ): { missing: string[]; unexpected: string[]; error: string | null } {
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

  // ---- printing, as torch.nn.Module.__repr__ ------------------------------------------------

  /** The options shown between the parentheses (torch.nn's extra_repr). */
  extraRepr(): string {
    return '';
  }
  /** The class name printed (torch.nn's _get_name()). */
  protected reprName(): string {
    return this.constructor.name;
  }

  /** The module tree as PyTorch prints it: `Name(options)`, or `Name(\n  (child): ...\n)`. */
  toString(): string {
    const extra = this.extraRepr();
    const extraLines = extra ? extra.split('\n') : [];
    const childLines = this.namedChildren().map(
      ([name, child]) => `(${name}): ${child.toString().split('\n').join('\n  ')}`,
    );
    const lines = [...extraLines, ...childLines];
    if (!lines.length) return `${this.reprName()}()`;
    if (extraLines.length === 1 && !childLines.length) return `${this.reprName()}(${extra})`;
    return `${this.reprName()}(\n  ${lines.join('\n  ')}\n)`;
  }
  [inspect.custom](): string {
    return this.toString();
  }
  /** The tree as data: class name, options, own parameters and buffers (shape, dtype), children. */
  toJSON(): ModuleJSON {
    this.adoptFields();
    const tensors = (table: Map<string, Tensor | null>) =>
      Object.fromEntries(
        [...table].map(([k, t]) => [k, t && !t.isDisposed ? { shape: t.shape, dtype: t.dtype } : null]),
      );
    return {
      type: this.reprName(),
      extra: this.extraRepr(),
      parameters: tensors(this._parameters),
      buffers: tensors(this._buffers),
      children: Object.fromEntries(this.namedChildren().map(([k, c]) => [k, c.toJSON()])),
    };
  }

  /** Frees every parameter and buffer now. */
  dispose(): void {
    for (const t of [...this.parameters(), ...this.buffers()]) t.dispose();
  }

  abstract forward(...inputs: Tensor[]): Tensor;
}
