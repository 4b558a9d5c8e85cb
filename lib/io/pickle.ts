// A restricted unpickler for PyTorch checkpoints: it understands the opcodes torch.save emits and
// rebuilds only plain containers (dicts, lists, tuples, numbers, strings) plus the few torch
// globals that describe tensors and storages. Any other global is refused with an error naming
// it, so nothing in a file can run code: there is no code here that could run it.
import type { DType } from '../dtype';

export class PickleError extends Error {}

/** What a persistent id ('storage', <type>, key, location, numel) turns into. */
export interface StorageRef {
  kind: 'storage';
  dtype: DType;
  key: string;
  location: string;
  numel: number;
}

/** A call to an allowed global, left for the caller to interpret (e.g. _rebuild_tensor_v2). */
export interface Reduced {
  kind: 'reduce';
  global: string;
  args: unknown[];
}

export interface GlobalRef {
  kind: 'global';
  name: string;
}

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

const ALLOWED_CALLS = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'builtins.set',
  'builtins.frozenset',
]);

function globalRef(module: string, name: string): GlobalRef {
  const full = `${module}.${name}`;
  if (module === 'torch' && Object.hasOwn(STORAGE_DTYPES, name)) return { kind: 'global', name: full };
  if (ALLOWED_CALLS.has(full)) return { kind: 'global', name: full };
  throw new PickleError(
    `refused to load the global '${full}': only tensors, storages and plain containers are allowed`,
  );
}

export function storageDtype(global: string): DType | undefined {
  const name = global.replace(/^torch\./, '');
  return Object.hasOwn(STORAGE_DTYPES, name) ? STORAGE_DTYPES[name] : undefined;
}

const MARK = Symbol('mark');

/** Unpickles `data`; persistent ids become StorageRefs and allowed calls become Reduced nodes. */
export function unpickle(data: Uint8Array): unknown {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const text = new TextDecoder('utf-8', { fatal: true });
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > data.byteLength) throw new PickleError(`pickle data ends early (at byte ${pos}, need ${n} more)`);
  };
  const u8 = () => (need(1), data[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const bytes = (n: number) => (need(n), (pos += n), data.subarray(pos - n, pos));
  const line = () => {
    const end = data.indexOf(10, pos);
    if (end < 0) throw new PickleError('pickle data ends early (unterminated line)');
    const s = text.decode(data.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = () => {
    if (!stack.length) throw new PickleError('pickle stack underflow');
    return stack.pop();
  };
  const popMark = () => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw new PickleError('pickle MARK missing');
    const items = stack.splice(i);
    items.shift();
    return items;
  };
  const top = () => {
    if (!stack.length) throw new PickleError('pickle stack underflow');
    return stack[stack.length - 1];
  };
  const setItems = (target: unknown, items: unknown[]) => {
    if (!(target instanceof Map)) throw new PickleError('SETITEM(S) on a non-dict');
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i], items[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]) => {
    if (!Array.isArray(target)) throw new PickleError('APPEND(S) on a non-list');
    target.push(...items);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80:
        u8();
        break; // PROTO
      case 0x95:
        bytes(8);
        break; // FRAME
      case 0x2e:
        return pop(); // STOP
      case 0x28:
        stack.push(MARK);
        break; // MARK
      case 0x7d:
        stack.push(new Map());
        break; // EMPTY_DICT
      case 0x5d:
        stack.push([]);
        break; // EMPTY_LIST
      case 0x29:
        stack.push([]);
        break; // EMPTY_TUPLE
      case 0x4e:
        stack.push(null);
        break; // NONE
      case 0x88:
        stack.push(true);
        break; // NEWTRUE
      case 0x89:
        stack.push(false);
        break; // NEWFALSE
      case 0x4b:
        stack.push(u8());
        break; // BININT1
      case 0x4d:
        stack.push(u16());
        break; // BININT2
      case 0x4a:
        need(4);
        stack.push(view.getInt32(pos, true));
        pos += 4;
        break; // BININT
      case 0x8a: {
        // LONG1
        const n = u8();
        const b = bytes(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v); // exact: a bigint past 2^53
        break;
      }
      case 0x47:
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break; // BINFLOAT
      case 0x58:
        stack.push(text.decode(bytes(u32())));
        break; // BINUNICODE
      case 0x8c:
        stack.push(text.decode(bytes(u8())));
        break; // SHORT_BINUNICODE
      case 0x8d: {
        // BINUNICODE8
        need(8);
        const n = Number(view.getBigUint64(pos, true));
        pos += 8;
        stack.push(text.decode(bytes(n)));
        break;
      }
      case 0x43:
        stack.push(bytes(u8()).slice());
        break; // SHORT_BINBYTES
      case 0x42:
        stack.push(bytes(u32()).slice());
        break; // BINBYTES
      case 0x74:
        stack.push(popMark());
        break; // TUPLE
      case 0x85:
        stack.push([pop()]);
        break; // TUPLE1
      case 0x86: {
        const b = pop();
        const a = pop();
        stack.push([a, b]);
        break;
      } // TUPLE2
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push([a, b, c]);
        break;
      } // TUPLE3
      case 0x6c:
        stack.push(popMark());
        break; // LIST
      case 0x64: {
        const items = popMark();
        const m = new Map();
        setItems(m, items);
        stack.push(m);
        break;
      } // DICT
      case 0x71:
        memo.set(u8(), top());
        break; // BINPUT
      case 0x72:
        memo.set(u32(), top());
        break; // LONG_BINPUT
      case 0x94:
        memo.set(memo.size, top());
        break; // MEMOIZE
      case 0x68:
      case 0x6a: {
        // BINGET, LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) throw new PickleError(`pickle memo ${k} missing`);
        stack.push(memo.get(k));
        break;
      }
      case 0x73: {
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      } // SETITEM
      case 0x75: {
        const items = popMark();
        setItems(top(), items);
        break;
      } // SETITEMS
      case 0x61: {
        const v = pop();
        appendItems(top(), [v]);
        break;
      } // APPEND
      case 0x65: {
        const items = popMark();
        appendItems(top(), items);
        break;
      } // APPENDS
      case 0x63: {
        const module = line();
        const name = line();
        stack.push(globalRef(module, name));
        break;
      } // GLOBAL
      case 0x93: {
        const name = pop();
        const module = pop();
        stack.push(globalRef(String(module), String(name)));
        break;
      } // STACK_GLOBAL
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5)
          throw new PickleError('unsupported persistent id (expected a torch storage)');
        const type = pid[1] as GlobalRef;
        const dtype = type?.kind === 'global' ? storageDtype(type.name) : undefined;
        if (!dtype) throw new PickleError(`unsupported storage type ${JSON.stringify(type)}`);
        stack.push({
          kind: 'storage',
          dtype,
          key: String(pid[2]),
          location: String(pid[3]),
          numel: Number(pid[4]),
        } satisfies StorageRef);
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop() as GlobalRef;
        if (fn?.kind !== 'global' || !Array.isArray(args))
          throw new PickleError('REDUCE of something that is not an allowed global');
        if (fn.name === 'collections.OrderedDict')
          stack.push(new Map(args.length ? (args[0] as [unknown, unknown][]) : []));
        else if (fn.name === 'builtins.set' || fn.name === 'builtins.frozenset')
          stack.push(args.length ? [...(args[0] as unknown[])] : []);
        else stack.push({ kind: 'reduce', global: fn.name, args } satisfies Reduced);
        break;
      }
      case 0x62:
        pop();
        break; // BUILD: instance state (e.g. a state_dict's _metadata) is not needed
      default:
        throw new PickleError(`unsupported pickle opcode 0x${op.toString(16)} at byte ${pos - 1}`);
    }
  }
}
