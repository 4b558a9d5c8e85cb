// Shared by the hostile-input suites: temporary folders, hostile files built at test time, and a
// child process that runs a script or the CLI and reports its exit and peak RSS.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { zipSync } from 'fflate';

export const root = path.join(__dirname, '..', '..');

export function tempDir(prefix = 'unmix-hostile-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface ChildResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** peak resident memory of the child, in MiB (null when it died before reporting it) */
  maxRssMB: number | null;
}

// Every child reports its own peak RSS on exit (process.resourceUsage, in KiB). Its V8 heap is
// capped, so a run that would grow without bound (the failures these suites guard against)
// dies quickly instead of taking the machine's memory.
const REPORT = path.join(__dirname, 'report-rss.cjs');

function run(
  args: string[],
  options: { timeoutMs?: number; heapMB?: number; env?: Record<string, string> } = {},
): ChildResult {
  const r = spawnSync(
    process.execPath,
    [`--max-old-space-size=${options.heapMB ?? 1024}`, '--require', REPORT, '--import', 'tsx', ...args],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: options.timeoutMs ?? 60000,
      env: { ...process.env, ...options.env },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const m = /\nMAXRSS_KB (\d+)\n/.exec(r.stderr ?? '');
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '').replace(/\nMAXRSS_KB \d+\n/, ''),
    maxRssMB: m ? Number(m[1]) / 1024 : null,
  };
}

/** Runs `code` (TypeScript; `u` is the library) in a fresh node process. */
export function runScript(code: string, options: { timeoutMs?: number; heapMB?: number } = {}): ChildResult {
  const dir = tempDir('unmix-script-');
  const file = path.join(dir, 'script.ts');
  fs.writeFileSync(file, `import * as u from ${JSON.stringify(path.join(root, 'lib'))};\nvoid u;\n${code}\n`);
  try {
    return run([file], options);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `unmix ...args` as a user does. */
export function runCli(
  args: string[],
  options: { timeoutMs?: number; heapMB?: number; env?: Record<string, string> } = {},
): ChildResult {
  return run([path.join(root, 'lib', 'cli', 'unmix.ts'), ...args], options);
}

// ---- hostile torch.save files --------------------------------------------------------------

/** A torch.save zip archive around a pickle (and extra entries). */
export function torchZip(pickle: Uint8Array, extra: Record<string, Uint8Array> = {}): Uint8Array {
  return zipSync(
    { 'archive/data.pkl': pickle, 'archive/version': new TextEncoder().encode('3\n'), ...extra },
    { level: 0 },
  );
}

const bytes = (...parts: (number | number[] | Uint8Array)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...p])));
const PROTO2 = [0x80, 0x02];
const EMPTY_LIST = 0x5d;
const MARK = 0x28;
const APPEND = 0x61;
const APPENDS = 0x65;
const STOP = 0x2e;
const binput = (i: number) => [0x71, i];
const binget = (i: number) => [0x68, i];

/** "Billion laughs": level i is a list holding level i-1 twice (by memo), `levels` deep. */
export function billionLaughsPickle(levels = 40): Uint8Array {
  const parts: number[][] = [PROTO2, [EMPTY_LIST], binput(0)];
  for (let i = 1; i <= levels; i++) parts.push([EMPTY_LIST, MARK], binget(i - 1), binget(i - 1), [APPENDS], binput(i));
  parts.push([STOP]);
  return bytes(...parts);
}

/** A list that contains itself. */
export function cyclePickle(): Uint8Array {
  return bytes(PROTO2, EMPTY_LIST, binput(0), binget(0), APPEND, STOP);
}

/** Lists nested `depth` levels deep. */
export function deepPickle(depth: number): Uint8Array {
  return bytes(PROTO2, new Array(depth).fill(EMPTY_LIST), new Array(depth - 1).fill(APPEND), STOP);
}

/** A call to torch._utils._rebuild_tensor_v2 with no arguments. */
export function rebuildWithoutArgsPickle(): Uint8Array {
  const global = new TextEncoder().encode('ctorch._utils\n_rebuild_tensor_v2\n');
  return bytes(PROTO2, global, 0x29 /* EMPTY_TUPLE */, 0x52 /* REDUCE */, STOP);
}

/** The start of a legacy (pre-1.6) torch.save file: a bare pickle with its magic number. */
export function legacyTorchFile(): Uint8Array {
  return bytes(PROTO2, 0x8a, 0x0a, [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19], STOP);
}

/** A safetensors file with a raw JSON header (and `data` after it). */
export function safetensorsWithHeader(header: string, data = new Uint8Array(0)): Uint8Array {
  const json = Buffer.from(header, 'utf8');
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** A zip archive deflated by zlib (native, so a test can build a large entry in a moment). */
export function zipDeflated(entries: Record<string, Uint8Array>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(entries)) {
    const fileName = Buffer.from(name, 'utf8');
    const body = zlib.deflateRawSync(data, { level: 1 });
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fileName.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(fileName.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, fileName, body);
    centrals.push(central, fileName);
    offset += local.length + fileName.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
