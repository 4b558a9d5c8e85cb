// The safetensors format: 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}, then the
// bytes. Files are written atomically (temporary file, fsync, rename) and validated on read.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { DType, ITEM_SIZE } from '../dtype';
import { readRegularFile, statRegularFile } from './files';
import { native } from '../native';
import { Device, Tensor } from '../tensor';

const CODES: Record<DType, string> = {
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};
const DTYPE_OF: Record<string, DType> = Object.fromEntries(Object.entries(CODES).map(([d, c]) => [c, d as DType]));
const MAX_HEADER = 100 * 1024 * 1024;

export interface SafetensorsFile {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
}

/** Writes `data` to `file` so that a crash at any point leaves either the old file or the new one. */
export function writeFileAtomic(file: string, chunks: Uint8Array[]): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const chunk of chunks) {
      let written = 0;
      while (written < chunk.byteLength) written += fs.writeSync(fd, chunk, written);
    }
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  const dirFd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}

/** The metadata key of the data's SHA-256 (written with `checksum`, verified by every load). */
export const CHECKSUM_KEY = 'unmix.data_sha256';

/**
 * Saves tensors (any device; copied to host) and string metadata as a .safetensors file; with
 * `checksum`, a SHA-256 of the tensor data goes into the metadata and loads verify it.
 */
export function saveSafetensors(
  file: string,
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> = {},
  options: { checksum?: boolean } = {},
): void {
  // The format's metadata maps strings to strings (and our reader holds it to that): say so here,
  // as the safetensors package does, rather than write a file nothing will read.
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    throw new TypeError(
      `saveSafetensors: metadata must be an object mapping strings to strings, got ${Array.isArray(metadata) ? 'an array' : String(metadata)}`,
    );
  // undefined values are left out, as the JSON header has always dropped them
  metadata = Object.fromEntries(Object.entries(metadata).filter(([, v]) => v !== undefined));
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string')
      throw new TypeError(
        `saveSafetensors: metadata values must be strings (safetensors maps strings to strings), got ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)} (${v === null ? 'null' : typeof v}); pass String(value) or JSON.stringify(value)`,
      );
  }
  const header: Record<string, unknown> = Object.create(null); // `__proto__` names a tensor like any other
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of Object.keys(tensors).sort()) {
    if (name === '__metadata__')
      throw new Error("saveSafetensors: '__metadata__' is reserved and cannot name a tensor");
    const t = tensors[name];
    const bytes = new Uint8Array(native.toBuffer(t.checked('saveSafetensors'), true));
    header[name] = { dtype: CODES[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  if (options.checksum) {
    const hash = crypto.createHash('sha256');
    chunks.forEach((c) => hash.update(c));
    metadata = { ...metadata, [CHECKSUM_KEY]: hash.digest('hex') };
  }
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let json = JSON.stringify({ __metadata__: header.__metadata__, ...header });
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // the data starts 8-byte aligned
  const head = Buffer.alloc(8 + Buffer.byteLength(json));
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
  head.write(json, 8, 'utf8');
  writeFileAtomic(file, [head, ...chunks]);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(file: string, why: string): never {
  throw new Error(`${file}: not a valid safetensors file: ${why}`);
}

interface Parsed {
  infos: (TensorInfo & { begin: number; end: number })[];
  metadata: Record<string, string>;
  dataStart: number;
}

/** `buffer` holds at least the start of the file (all of the header); `fileSize` is the whole. */
function parseHeader(file: string, buffer: Buffer, fileSize: number): Parsed {
  if (fileSize < 8) fail(file, `only ${fileSize} bytes`);
  const length = buffer.readBigUInt64LE(0);
  if (length > BigInt(Math.min(MAX_HEADER, fileSize - 8))) fail(file, `header length ${length} exceeds the file`);
  const dataStart = 8 + Number(length);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buffer.subarray(8, dataStart).toString('utf8'));
  } catch (e) {
    fail(file, `header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail(file, 'header is not a JSON object');
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  if (!isRecord(metadata) || Object.values(metadata).some((v) => typeof v !== 'string'))
    fail(file, '__metadata__ must map strings to strings');
  const infos: Parsed['infos'] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (!isRecord(entry))
      fail(
        file,
        `tensor '${name}' must be an object {dtype, shape, data_offsets}, got ${entry === null ? 'null' : Array.isArray(entry) ? 'an array' : typeof entry}`,
      );
    const e = entry as { dtype?: string; shape?: unknown; data_offsets?: unknown };
    const dtype = Object.hasOwn(DTYPE_OF, String(e.dtype)) ? DTYPE_OF[String(e.dtype)] : undefined;
    if (!dtype) fail(file, `tensor '${name}' has unsupported dtype ${JSON.stringify(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0))
      fail(file, `tensor '${name}' has an invalid shape`);
    const offsets = e.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    ) {
      fail(file, `tensor '${name}' has invalid data_offsets`);
    }
    const shape = e.shape as number[];
    const expected = shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[dtype];
    if (offsets[1] - offsets[0] !== expected)
      fail(
        file,
        `tensor '${name}' [${shape.join(', ')}] ${dtype} needs ${expected} bytes, its offsets span ${offsets[1] - offsets[0]}`,
      );
    infos.push({ name, dtype, shape, begin: offsets[0], end: offsets[1] });
  }
  // The byte buffer must be covered exactly, without gaps or overlaps (as the reference reader requires).
  const sorted = [...infos].sort((a, b) => a.begin - b.begin);
  let cursor = 0;
  for (const info of sorted) {
    if (info.begin !== cursor)
      fail(file, `tensor '${info.name}' starts at ${info.begin}, expected ${cursor} (gap or overlap)`);
    cursor = info.end;
  }
  if (dataStart + cursor !== fileSize) {
    fail(file, `the tensors need ${dataStart + cursor} bytes but the file has ${fileSize} (truncated or padded)`);
  }
  return { infos, metadata, dataStart };
}

function readWhole(file: string): Buffer {
  return readRegularFile(file);
}

/** The header bytes only (plus the file size), for listing without reading the data. */
function readHead(file: string): { head: Buffer; size: number } {
  statRegularFile(file);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const prefix = Buffer.alloc(8);
    fs.readSync(fd, prefix, 0, Math.min(8, size), 0);
    const length = size >= 8 ? Number(prefix.readBigUInt64LE(0)) : 0;
    const head = Buffer.alloc(8 + Math.max(0, Math.min(length, MAX_HEADER, size - 8)));
    fs.readSync(fd, head, 0, head.byteLength, 0);
    return { head, size };
  } finally {
    fs.closeSync(fd);
  }
}

/** Loads every tensor (onto `device`, default cpu) and the metadata. */
export function loadSafetensors(file: string, options: { device?: Device } = {}): SafetensorsFile {
  const buffer = readWhole(file);
  const { infos, metadata, dataStart } = parseHeader(file, buffer, buffer.byteLength);
  const expected = metadata[CHECKSUM_KEY];
  if (
    expected !== undefined &&
    crypto.createHash('sha256').update(buffer.subarray(dataStart)).digest('hex') !== expected
  ) {
    throw new Error(`${file}: the tensor data does not match the checksum in its header: the file is damaged`);
  }
  const tensors: Record<string, Tensor> = Object.create(null); // `__proto__` is a name like any other
  try {
    for (const info of infos) {
      const bytes = buffer.subarray(dataStart + info.begin, dataStart + info.end);
      tensors[info.name] = Tensor.fromHandle(
        native.fromBuffer(bytes, info.dtype, info.shape, info.dtype, options.device ?? 'cpu'),
      );
    }
  } catch (e) {
    for (const t of Object.values(tensors)) t.dispose();
    throw e;
  }
  return { tensors, metadata };
}

/** Names, dtypes and shapes, reading only the header. */
export function inspectSafetensors(file: string): { tensors: TensorInfo[]; metadata: Record<string, string> } {
  const { head, size } = readHead(file);
  const { infos, metadata } = parseHeader(file, head, size);
  return { tensors: infos.map(({ name, dtype, shape }) => ({ name, dtype, shape })), metadata };
}
