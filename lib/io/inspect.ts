// What `unmix inspect FILE` reports: every tensor (name, shape, dtype) and the metadata of a
// safetensors file, an unmix checkpoint or a torch.save file.
import * as fs from 'fs';
import { statRegularFile } from './files';
import { inspectSafetensors } from './safetensors';
import { loadTorchFile } from './torch-file';
import { Tensor } from '../tensor';

export interface Inspection {
  format: 'safetensors' | 'unmix-checkpoint' | 'torch';
  tensors: { name: string; shape: number[]; dtype: string }[];
  metadata: Record<string, unknown>;
}

/** The first two bytes; a FIFO, device or folder is refused before anything blocks on it. */
function readMagic(file: string): Buffer {
  statRegularFile(file);
  const fd = fs.openSync(file, 'r');
  try {
    const magic = Buffer.alloc(2);
    fs.readSync(fd, magic, 0, 2, 0);
    return magic;
  } finally {
    fs.closeSync(fd);
  }
}

function plain(v: unknown): unknown {
  if (v instanceof Tensor) return undefined;
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, item] of v) {
      const p = plain(item);
      if (p !== undefined) out[String(k)] = p;
    }
    return Object.keys(out).length ? out : undefined;
  }
  if (Array.isArray(v)) {
    const items = v.map(plain);
    return items.every((i) => i === undefined) ? undefined : items;
  }
  return v;
}

export function inspectFile(file: string): Inspection {
  const magic = readMagic(file);
  // 0x80 is a pickle's PROTO opcode: a legacy (pre-1.6) torch.save file, which loadTorchFile explains.
  if (magic.toString('latin1') === 'PK' || magic[0] === 0x80) {
    const { value, tensors } = loadTorchFile(file);
    const list = Object.entries(tensors).map(([name, t]) => ({ name, shape: t.shape, dtype: t.dtype }));
    Object.values(tensors).forEach((t) => t.dispose());
    const meta = plain(value);
    return {
      format: 'torch',
      tensors: list,
      metadata: meta && typeof meta === 'object' && !Array.isArray(meta) ? (meta as Record<string, unknown>) : {},
    };
  }
  const { tensors, metadata } = inspectSafetensors(file);
  if (metadata.unmix) {
    let info: Record<string, unknown> = {};
    try {
      info = JSON.parse(metadata.unmix);
    } catch {
      // not ours after all: report the raw string
    }
    if (typeof info.format === 'string' && info.format.startsWith('unmix-checkpoint'))
      return { format: 'unmix-checkpoint', tensors, metadata: info };
  }
  return { format: 'safetensors', tensors, metadata };
}
