// Imports files written by torch.save (the zip format of PyTorch ≥ 1.6): the pickle is read by
// a restricted unpickler (pickle.ts) and tensors are rebuilt from the archive's storages.
import * as fs from 'fs';
import { unzipSync } from 'fflate';
import { native } from '../native';
import { Device, Tensor } from '../tensor';
import { PickleError, Reduced, StorageRef, unpickle } from './pickle';

const ITEM_SIZE: Record<string, number> = { float64: 8, float32: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1 };

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
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
  if (raw.subarray(0, 2).toString('latin1') !== 'PK') {
    throw new Error(`${file}: not a torch.save zip archive (legacy pre-1.6 files are not supported: re-save them with a current PyTorch)`);
  }
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(raw);
  } catch (e) {
    throw new Error(`${file}: corrupt zip archive (${(e as Error).message})`);
  }
  const pkl = Object.keys(entries).find((n) => n.endsWith('data.pkl') && n.split('/').length === 2);
  if (!pkl) throw new Error(`${file}: the archive has no <name>/data.pkl: not a torch.save file`);
  const prefix = pkl.slice(0, -'data.pkl'.length);
  let tree: unknown;
  try {
    tree = unpickle(entries[pkl]);
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
      const bytes = entries[`${prefix}data/${ref.key}`];
      if (!bytes) throw new Error(`${file}: storage ${ref.key} is missing from the archive`);
      const needed = ref.numel * ITEM_SIZE[ref.dtype];
      if (bytes.byteLength < needed) throw new Error(`${file}: storage ${ref.key} has ${bytes.byteLength} bytes, needs ${needed}`);
      s = Tensor.fromHandle(native.fromBuffer(bytes.subarray(0, needed), ref.dtype, [ref.numel], ref.dtype, 'cpu'));
      storages.set(ref.key, s);
    }
    return s;
  };
  const tensors: Record<string, Tensor> = {};
  const build = (v: unknown, path: string): unknown => {
    if (isReduced(v)) {
      if (v.global === 'torch._utils._rebuild_parameter') return build(v.args[0], path);
      if (v.global === 'torch._utils._rebuild_tensor_v2') {
        const [ref, offset, size, stride] = v.args as [StorageRef, number, number[], number[]];
        // A view of the storage, as in PyTorch (tensors saved together keep sharing memory).
        const view = stridedView(storage(ref), size, stride, offset);
        const t = device === 'cpu' ? view : view.to(device);
        if (t !== view) view.dispose();
        created.push(t);
        tensors[path] = t;
        return t;
      }
      throw new Error(`${file}: unexpected call to ${v.global}`);
    }
    if (v instanceof Map) {
      const out = new Map();
      for (const [k, item] of v) out.set(k, build(item, path ? `${path}.${String(k)}` : String(k)));
      return out;
    }
    if (Array.isArray(v)) return v.map((item, i) => build(item, path ? `${path}.${i}` : String(i)));
    return v;
  };
  try {
    const value = build(tree, '');
    return { value, tensors };
  } catch (e) {
    created.forEach((t) => t.dispose());
    throw e;
  } finally {
    storages.forEach((s) => s.dispose());
  }
}

function stridedView(flat: Tensor, size: number[], stride: number[], offset: number): Tensor {
  if (size.some((s) => s === 0)) return flat.narrow(0, 0, 0).reshape(size);
  const needed = size.reduce((end, s, i) => end + (s - 1) * stride[i], offset) + 1;
  if (needed > flat.numel()) throw new Error(`tensor [${size.join(', ')}] at offset ${offset} reaches past its storage of ${flat.numel()} elements`);
  return flat.asStrided(size, stride, offset);
}

/**
 * The state dict in a torch.save file: the file itself when it is one, or its `state_dict` /
 * `model` / `module` entry (MoCo's {epoch, arch, state_dict, optimizer}); `stripPrefix`
 * ('module.' by default, from DataParallel) is removed from the keys.
 */
export function importTorchStateDict(file: string, options: { device?: Device; stripPrefix?: string } = {}): Record<string, Tensor> {
  const { value, tensors } = loadTorchFile(file, options);
  let root = '';
  if (value instanceof Map && !([...value.values()].every((v) => v instanceof Tensor))) {
    const key = ['state_dict', 'model', 'module'].find((k) => value.get(k) instanceof Map);
    if (!key) {
      Object.values(tensors).forEach((t) => t.dispose());
      throw new Error(`${file}: no state dict found (top-level keys: ${[...value.keys()].join(', ')})`);
    }
    root = `${key}.`;
  }
  const strip = options.stripPrefix ?? 'module.';
  const out: Record<string, Tensor> = {};
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
