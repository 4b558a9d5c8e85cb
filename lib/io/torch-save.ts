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

/** Saves `state` (name → tensor, any device) as a torch.save file, atomically. */
export function saveTorchStateDict(file: string, state: Record<string, Tensor>): void {
  const archive = 'archive';
  const entries: Record<string, Uint8Array> = {};
  const p = new PickleWriter();
  p.byte(0x80, 2); // PROTO 2
  p.global('collections', 'OrderedDict');
  p.byte(0x29, 0x52); // EMPTY_TUPLE, REDUCE
  p.byte(0x28); // MARK
  Object.entries(state).forEach(([name, t], i) => {
    const contiguous = t.contiguous();
    const data = new Uint8Array(native.toBuffer(contiguous.checked('saveTorchStateDict'), true));
    if (contiguous !== t) contiguous.dispose();
    entries[`${archive}/data/${i}`] = data;
    p.str(name);
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.byte(0x28); // MARK (args)
    p.byte(0x28); // MARK (persistent id)
    p.str('storage');
    p.global('torch', STORAGE[t.dtype]);
    p.str(String(i));
    p.str('cpu');
    p.int(t.numel());
    p.byte(0x74, 0x51); // TUPLE, BINPERSID
    p.int(0); // storage offset
    p.tuple(t.shape);
    const strides = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    p.tuple(strides);
    p.byte(0x89); // requires_grad False
    p.global('collections', 'OrderedDict');
    p.byte(0x29, 0x52); // backward hooks: OrderedDict()
    p.byte(0x74, 0x52); // TUPLE, REDUCE
  });
  p.byte(0x75, 0x2e); // SETITEMS, STOP
  entries[`${archive}/data.pkl`] = p.bytes();
  entries[`${archive}/version`] = Buffer.from('3\n');
  entries[`${archive}/byteorder`] = Buffer.from('little');
  writeFileAtomic(file, [zipSync(entries, { level: 0 })]);
}
