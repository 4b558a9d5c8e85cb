// Imports files written by torch.save (the zip format of PyTorch ≥ 1.6): the pickle is read by
// a restricted unpickler (pickle.ts) and tensors are rebuilt from the archive's storages.
import { UnzipFileInfo, unzipSync } from 'fflate';
import { ITEM_SIZE } from '../dtype';
import { native } from '../native';
import { Device, Tensor } from '../tensor';
import { readRegularFile } from './files';
import { PickleError, Reduced, StorageRef, unpickle } from './pickle';

// Bounds on the unpickled object graph: far above any real checkpoint (a ResNet-50 with its
// optimizer state is a few thousand nodes, a handful of levels deep).
const MAX_NODES = 1_000_000;
const MAX_DEPTH = 1000;
const MAX_PICKLE_BYTES = 256 * 1024 * 1024;

export interface TorchFile {
  /** The unpickled object: Maps for dicts, arrays for lists and tuples, Tensors for tensors. */
  value: unknown;
  /** Every tensor in it, by dotted path (`state_dict.layer1.0.conv1.weight`). */
  tensors: Record<string, Tensor>;
}

function isReduced(v: unknown): v is Reduced {
  return typeof v === 'object' && v !== null && (v as Reduced).kind === 'reduce';
}

/** Reads a torch.save file onto `device` (default cpu). Nothing in the file is executed. */
export function loadTorchFile(file: string, options: { device?: Device } = {}): TorchFile {
  const raw = readRegularFile(file);
  if (raw.subarray(0, 2).toString('latin1') !== 'PK') {
    throw new Error(
      `${file}: not a torch.save zip archive (legacy pre-1.6 files are not supported: re-save them with a current PyTorch)`,
    );
  }
  // Only the entries needed are inflated, each checked against its declared size first: an unused
  // or oversized entry (a zip bomb) costs nothing.
  const unzip = (filter: (f: UnzipFileInfo) => boolean) => {
    try {
      return unzipSync(raw, { filter });
    } catch (e) {
      throw new Error(`${file}: corrupt zip archive (${(e as Error).message})`);
    }
  };
  const sizes = new Map<string, number>();
  unzip((f) => (sizes.set(f.name, f.originalSize), false));
  const inflate = (name: string) => unzip((f) => f.name === name)[name];
  const pkl = [...sizes.keys()].find((n) => n.endsWith('data.pkl') && n.split('/').length === 2);
  if (!pkl) throw new Error(`${file}: the archive has no <name>/data.pkl: not a torch.save file`);
  if (sizes.get(pkl)! > MAX_PICKLE_BYTES)
    throw new Error(
      `${file}: ${pkl} declares ${sizes.get(pkl)} bytes, more than the ${MAX_PICKLE_BYTES} a state dict's pickle needs: refused`,
    );
  const prefix = pkl.slice(0, -'data.pkl'.length);
  let tree: unknown;
  try {
    tree = unpickle(inflate(pkl));
  } catch (e) {
    if (e instanceof PickleError || e instanceof TypeError) throw new Error(`${file}: ${e.message}`);
    throw e;
  }

  const device = options.device ?? 'cpu';
  const storages = new Map<string, Tensor>();
  const created: Tensor[] = [];
  const storage = (ref: StorageRef) => {
    let s = storages.get(ref.key);
    if (!s) {
      const name = `${prefix}data/${ref.key}`;
      if (!sizes.has(name)) throw new Error(`${file}: storage ${ref.key} is missing from the archive`);
      if (!Number.isSafeInteger(ref.numel) || ref.numel < 0)
        throw new Error(`${file}: storage ${ref.key} has an invalid element count ${ref.numel}`);
      const needed = ref.numel * ITEM_SIZE[ref.dtype];
      // torch.save writes each storage's bytes exactly: a larger entry is not inflated.
      if (sizes.get(name)! > needed)
        throw new Error(
          `${file}: storage ${ref.key} declares ${sizes.get(name)} bytes, its ${ref.numel} ${ref.dtype} elements need ${needed}: refused`,
        );
      const bytes = inflate(name);
      if (bytes.byteLength < needed)
        throw new Error(`${file}: storage ${ref.key} has ${bytes.byteLength} bytes, needs ${needed}`);
      s = Tensor.fromHandle(native.fromBuffer(bytes.subarray(0, needed), ref.dtype, [ref.numel], ref.dtype, 'cpu'));
      storages.set(ref.key, s);
    }
    return s;
  };
  // Null-prototype records: a tensor named `__proto__` is a key like any other.
  const tensors: Record<string, Tensor> = Object.create(null);
  // The pickle's memo lets one object appear at many paths, so the tree can be a DAG whose paths
  // grow exponentially with its depth ("billion laughs"): shared objects are rebuilt once, and
  // the walk over paths (which names tensors) is bounded in nodes and depth, cycles refused.
  const built = new Map<object, unknown>();
  const active = new Set<object>();
  let nodes = 0;
  const tensor = (v: Reduced, path: string): Tensor => {
    const [ref, offset, size, stride] = checkRebuildArgs(file, v.args);
    // A view of the storage, as in PyTorch (tensors saved together keep sharing memory).
    const view = stridedView(storage(ref), size, stride, offset);
    const t = device === 'cpu' ? view : view.to(device);
    if (t !== view) view.dispose();
    created.push(t);
    tensors[path] = t;
    return t;
  };
  const build = (v: unknown, path: string, depth: number): unknown => {
    if (typeof v !== 'object' || v === null || v instanceof Uint8Array) return v;
    if (++nodes > MAX_NODES)
      throw new Error(
        `${file}: the pickle's object graph has more than ${MAX_NODES} nodes when expanded (shared objects nested too deeply): refused`,
      );
    if (depth > MAX_DEPTH)
      throw new Error(`${file}: the pickle nests objects more than ${MAX_DEPTH} levels deep: refused`);
    if (active.has(v)) throw new Error(`${file}: the pickle's objects form a cycle (at '${path}'): refused`);
    const again = built.has(v);
    active.add(v);
    try {
      if (isReduced(v)) {
        if (v.global === 'torch._utils._rebuild_parameter') {
          if (!Array.isArray(v.args) || v.args.length < 1)
            throw new Error(`${file}: _rebuild_parameter needs a tensor argument`);
          return build(v.args[0], path, depth + 1);
        }
        if (v.global === 'torch._utils._rebuild_tensor_v2') {
          const t = tensor(v, path);
          if (!again) built.set(v, t);
          return built.get(v);
        }
        throw new Error(`${file}: unexpected call to ${v.global}`);
      }
      if (v instanceof Map) {
        const out = again ? (built.get(v) as Map<unknown, unknown>) : new Map();
        built.set(v, out);
        for (const [k, item] of v) {
          const b = build(item, path ? `${path}.${String(k)}` : String(k), depth + 1);
          if (!again) out.set(k, b);
        }
        return out;
      }
      if (Array.isArray(v)) {
        const out = again ? (built.get(v) as unknown[]) : [];
        built.set(v, out);
        v.forEach((item, i) => {
          const b = build(item, path ? `${path}.${i}` : String(i), depth + 1);
          if (!again) out.push(b);
        });
        return out;
      }
      return v;
    } finally {
      active.delete(v);
    }
  };
  try {
    const value = build(tree, '', 0);
    return { value, tensors };
  } catch (e) {
    created.forEach((t) => t.dispose());
    throw e;
  } finally {
    storages.forEach((s) => s.dispose());
  }
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isInts = (v: unknown): v is number[] => Array.isArray(v) && v.every(isInt);

/** (storage, offset, size, stride) of a _rebuild_tensor_v2 call, checked. */
function checkRebuildArgs(file: string, args: unknown[]): [StorageRef, number, number[], number[]] {
  const [ref, offset, size, stride] = Array.isArray(args) ? args : [];
  const ok =
    (ref as StorageRef)?.kind === 'storage' &&
    isInt(offset) &&
    offset >= 0 &&
    isInts(size) &&
    isInts(stride) &&
    size.length === stride.length &&
    size.every((d) => d >= 0) &&
    stride.every((d) => d >= 0);
  if (!ok)
    throw new Error(
      `${file}: _rebuild_tensor_v2 must be called with (storage, offset, size, stride), got ${describe(args)}`,
    );
  return [ref as StorageRef, offset as number, size as number[], stride as number[]];
}

function describe(args: unknown): string {
  if (!Array.isArray(args)) return typeof args;
  return `(${args.map((a) => (Array.isArray(a) ? 'list' : a === null ? 'None' : typeof a === 'object' ? ((a as { kind?: string }).kind ?? 'object') : typeof a)).join(', ')})`;
}

function stridedView(flat: Tensor, size: number[], stride: number[], offset: number): Tensor {
  if (size.some((s) => s === 0)) return flat.narrow(0, 0, 0).reshape(size);
  const needed = size.reduce((end, s, i) => end + (s - 1) * stride[i], offset) + 1;
  if (needed > flat.numel())
    throw new Error(
      `tensor [${size.join(', ')}] at offset ${offset} reaches past its storage of ${flat.numel()} elements`,
    );
  return flat.asStrided(size, stride, offset);
}

/**
 * The state dict in a torch.save file: the file itself when it is one, or its `state_dict` /
 * `model` / `module` entry (MoCo's {epoch, arch, state_dict, optimizer}); `stripPrefix`
 * ('module.' by default, from DataParallel) is removed from the keys.
 */
export function importTorchStateDict(
  file: string,
  options: { device?: Device; stripPrefix?: string } = {},
): Record<string, Tensor> {
  const { value, tensors } = loadTorchFile(file, options);
  let root = '';
  if (value instanceof Map && ![...value.values()].every((v) => v instanceof Tensor)) {
    const key = ['state_dict', 'model', 'module'].find((k) => value.get(k) instanceof Map);
    if (!key) {
      Object.values(tensors).forEach((t) => t.dispose());
      throw new Error(`${file}: no state dict found (top-level keys: ${[...value.keys()].join(', ')})`);
    }
    root = `${key}.`;
  }
  const strip = options.stripPrefix ?? 'module.';
  const out: Record<string, Tensor> = Object.create(null);
  for (const [name, t] of Object.entries(tensors)) {
    if (!name.startsWith(root)) {
      t.dispose();
      continue;
    }
    const key = name.slice(root.length);
    out[strip && key.startsWith(strip) ? key.slice(strip.length) : key] = t;
  }
  return out;
}
