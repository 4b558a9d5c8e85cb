// What `unmix inspect FILE` reports: every tensor (name, shape, dtype) and the metadata of a
// safetensors file, an unmix checkpoint or a torch.save file.
import * as fs from 'fs';
import { inspectSafetensors } from './safetensors';
import { loadTorchFile } from './torch-file';
import { Tensor } from '../tensor';

export interface Inspection {
  format: 'safetensors' | 'unmix-checkpoint' | 'torch';
  tensors: { name: string; shape: number[]; dtype: string }[];
  metadata: Record<string, unknown>;
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
  const fd = fs.openSync(file, 'r');
  const magic = Buffer.alloc(2);
  fs.readSync(fd, magic, 0, 2, 0);
  fs.closeSync(fd);
  if (magic.toString('latin1') === 'PK') {
    const { value, tensors } = loadTorchFile(file);
    const list = Object.entries(tensors).map(([name, t]) => ({ name, shape: t.shape, dtype: t.dtype }));
    Object.values(tensors).forEach((t) => t.dispose());
    const meta = plain(value);
    return { format: 'torch', tensors: list, metadata: meta && typeof meta === 'object' && !Array.isArray(meta) ? (meta as Record<string, unknown>) : {} };
  }
  const { tensors, metadata } = inspectSafetensors(file);
  if (metadata.unmix) {
    let info: Record<string, unknown> = {};
    try {
      info = JSON.parse(metadata.unmix);
    } catch {
      // not ours after all: report the raw string
    }
    if (typeof info.format === 'string' && info.format.startsWith('unmix-checkpoint')) return { format: 'unmix-checkpoint', tensors, metadata: info };
  }
  return { format: 'safetensors', tensors, metadata };
}
