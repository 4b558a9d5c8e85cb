// Writes a state dict as torch.save does (zip archive + protocol-2 pickle), so Python users load
// it with torch.load(path) (weights_only=True works too) and load_state_dict.
import { zipSync } from 'fflate';
import { native } from '../native';
import { Tensor } from '../tensor';
import { writeFileAtomic } from './safetensors';

const STORAGE: Record<string, string> = {
  float32: 'FloatStorage',
  float64: 'DoubleStorage',
  float16: 'HalfStorage',
  bfloat16: 'BFloat16Storage',
  int64: 'LongStorage',
  int32: 'IntStorage',
  int16: 'ShortStorage',
  int8: 'CharStorage',
  uint8: 'ByteStorage',
  bool: 'BoolStorage',
};

class PickleWriter {
  private readonly parts: number[] = [];
  byte(...b: number[]) {
    this.parts.push(...b);
  }
  int(v: number) {
    if (Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) {
      const b = Buffer.alloc(4);
      b.writeInt32LE(v);
      this.byte(0x4a, ...b); // BININT
    } else {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(BigInt(v));
      this.byte(0x8a, 8, ...b); // LONG1
    }
  }
  str(s: string) {
    const b = Buffer.from(s, 'utf8');
    const n = Buffer.alloc(4);
    n.writeUInt32LE(b.length);
    this.byte(0x58, ...n, ...b); // BINUNICODE
  }
  float(v: number) {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    this.byte(0x47, ...b); // BINFLOAT
  }
  /** LONG1: little-endian two's complement, as few bytes as the sign allows (Python's encode_long). */
  long(v: bigint, tooLarge: () => never) {
    const out: number[] = [];
    let x = v;
    while (x !== 0n && x !== -1n) {
      out.push(Number(x & 0xffn));
      x >>= 8n;
    }
    // a sign byte when the top bit disagrees with the sign
    if (v !== 0n && v > 0n === ((out[out.length - 1] ?? 0) & 0x80) > 0) out.push(v > 0n ? 0 : 0xff);
    if (out.length > 255) tooLarge();
    this.byte(0x8a, out.length, ...out);
  }
  global(module: string, name: string) {
    this.byte(0x63, ...Buffer.from(`${module}\n${name}\n`, 'utf8')); // GLOBAL
  }
  tuple(items: number[]) {
    this.byte(0x28); // MARK
    items.forEach((i) => this.int(i));
    this.byte(0x74); // TUPLE
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** What torch.save can write here: tensors and plain values, in dicts (plain objects, Maps) and lists (arrays). */
export type TorchSaveValue =
  | Tensor
  | number
  | bigint
  | string
  | boolean
  | null
  | TorchSaveValue[]
  | Map<string | number | bigint | boolean, TorchSaveValue>
  | { [key: string]: TorchSaveValue };

/**
 * Saves `state` as a torch.save file, atomically: a state dict (name → tensor, any device), or any
 * nesting of dicts (plain objects, Maps: Python dicts; the top level an OrderedDict, as a state
 * dict), arrays (lists), tensors, numbers (integral ones as Python ints, others as floats),
 * bigints (ints), strings, booleans and null (None). Python loads it with
 * `torch.load(f, weights_only=True)`. Anything else (undefined, class instances, cycles) is
 * refused, naming its path, before anything is written.
 */
export function saveTorchStateDict(
  file: string,
  state: Record<string, TorchSaveValue> | Map<string, TorchSaveValue>,
): void {
  const archive = 'archive';
  const entries: Record<string, Uint8Array> = {};
  const storageOf = new Map<Tensor, number>();
  const p = new PickleWriter();
  const active = new Set<object>();
  const fail = (path: string, why: string): never => {
    throw new TypeError(`saveTorchStateDict: ${path || 'the value'} ${why}`);
  };
  const child = (path: string, key: unknown) => (path ? `${path}.${String(key)}` : String(key));

  const tensor = (t: Tensor, path: string) => {
    if (!STORAGE[t.dtype]) fail(path, `is a ${t.dtype} tensor, which torch.save storages here do not cover`);
    let key = storageOf.get(t);
    if (key === undefined) {
      key = storageOf.size;
      storageOf.set(t, key);
      const contiguous = t.contiguous();
      entries[`${archive}/data/${key}`] = new Uint8Array(
        native.toBuffer(contiguous.checked('saveTorchStateDict'), true),
      );
      if (contiguous !== t) contiguous.dispose();
    }
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.byte(0x28); // MARK (args)
    p.byte(0x28); // MARK (persistent id)
    p.str('storage');
    p.global('torch', STORAGE[t.dtype]);
    p.str(String(key));
    p.str('cpu');
    p.int(t.numel());
    p.byte(0x74, 0x51); // TUPLE, BINPERSID
    p.int(0); // storage offset
    p.tuple(t.shape);
    p.tuple(t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1)));
    p.byte(0x89); // requires_grad False
    p.global('collections', 'OrderedDict');
    p.byte(0x29, 0x52); // backward hooks: OrderedDict()
    p.byte(0x74, 0x52); // TUPLE, REDUCE
  };

  const value = (v: unknown, path: string, top = false): void => {
    if (v === null) return p.byte(0x4e); // NONE
    if (typeof v === 'boolean') return p.byte(v ? 0x88 : 0x89);
    if (typeof v === 'string') return p.str(v);
    if (typeof v === 'bigint')
      return p.long(v, () => fail(path, 'is a bigint too large for a pickle LONG1 (255 bytes)'));
    if (typeof v === 'number') return Number.isSafeInteger(v) && !Object.is(v, -0) ? p.int(v) : p.float(v);
    if (v instanceof Tensor) return tensor(v, path);
    if (typeof v !== 'object')
      return fail(
        path,
        `is ${v === undefined ? 'undefined' : `a ${typeof v}`}: torch.save files hold tensors, numbers, bigints, strings, booleans, null, arrays and dicts`,
      );
    if (active.has(v)) fail(path, 'contains itself (a cycle): torch.save files hold trees');
    active.add(v);
    if (Array.isArray(v)) {
      p.byte(0x5d); // EMPTY_LIST
      if (v.length) {
        p.byte(0x28); // MARK
        v.forEach((item, i) => value(item, child(path, i)));
        p.byte(0x65); // APPENDS
      }
    } else if (v instanceof Map || Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) {
      const items: [unknown, unknown][] = v instanceof Map ? [...v] : Object.entries(v);
      if (top) {
        p.global('collections', 'OrderedDict');
        p.byte(0x29, 0x52); // EMPTY_TUPLE, REDUCE
      } else {
        p.byte(0x7d); // EMPTY_DICT
      }
      if (items.length) {
        p.byte(0x28); // MARK
        for (const [k, item] of items) {
          if (!['string', 'number', 'bigint', 'boolean'].includes(typeof k))
            fail(
              path,
              `has a key of type ${k === null ? 'null' : typeof k}: dict keys must be strings, numbers, bigints or booleans`,
            );
          value(k, path);
          value(item, child(path, k));
        }
        p.byte(0x75); // SETITEMS
      }
    } else {
      fail(
        path,
        `is a ${(v as object).constructor?.name ?? 'object'}, not a tensor, number, bigint, string, boolean, null, array, Map or plain object`,
      );
    }
    active.delete(v);
  };

  p.byte(0x80, 2); // PROTO 2
  value(state, '', true);
  p.byte(0x2e); // STOP
  entries[`${archive}/data.pkl`] = p.bytes();
  entries[`${archive}/version`] = Buffer.from('3\n');
  entries[`${archive}/byteorder`] = Buffer.from('little');
  writeFileAtomic(file, [zipSync(entries, { level: 0 })]);
}
