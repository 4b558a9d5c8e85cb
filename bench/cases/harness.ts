// What every benchmark case shares: the options, the Python twin process, the alternating
// measurement and the result shape. A twin (bench/<case>.py, protocol in bench/twin.py) builds its
// side once, then answers `measure` with one timed repeat; the TypeScript side runs in this process.
// Repeats alternate (TS, PY, PY, TS, TS, PY, ...) and only one side runs at a time, so drift in the
// machine's speed hits both, and neither steals the other's cores.
import { ChildProcessWithoutNullStreams, execFileSync, spawn } from 'child_process';
import * as path from 'path';
import * as readline from 'readline';
import { Command, InvalidArgumentError } from 'commander';
import * as u from '../../lib';

export interface CommonOptions {
  device: u.Device;
  /** tiny sizes: checks that a case runs, says nothing about speed */
  quick: boolean;
  /** untimed runs of each side before the repeats (undefined: the case's default) */
  warmup?: number;
  /** timed runs of each side (undefined: the case's default) */
  repeats?: number;
  /** intra-op threads for both sides */
  threads: number;
}

/** One timed repeat: named times in milliseconds (`ms` is the case's headline figure). */
export type Sample = Record<string, number>;

export interface CaseResult {
  case: string;
  /** the headline figure: median milliseconds of one unit of work (the case says which) */
  ts_ms: number;
  py_ms: number;
  /** py_ms / ts_ms: above 1, unmix is faster */
  speedup: number;
  /** what ts_ms and py_ms time */
  unit: string;
  device: string;
  warmup: number;
  repeats: number;
  /** every repeat's headline figure, in the order measured */
  ts_samples_ms: number[];
  py_samples_ms: number[];
  /** the Python side: interpreter, torch version, threads, GPU name */
  python: Record<string, unknown>;
  config: Record<string, unknown>;
  [detail: string]: unknown;
}

/** How often each side runs: untimed warm-ups, then timed repeats. */
export interface Runs {
  warmup: number;
  repeats: number;
}

export interface BenchCase<O> {
  name: string;
  summary: string;
  /** the case's own command-line options (no defaults there: `defaults` gives them) */
  options: (cmd: Command) => Command;
  /** default and --quick sizes of the case's own options */
  defaults: (quick: boolean, device: u.Device) => O & Runs;
  run: (common: CommonOptions, options: O & Runs) => Promise<CaseResult>;
}

/** A commander parser for integers >= min. */
export function intArg(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`expected an integer >= ${min}, got '${value}'`);
    return n;
  };
}

export function median(xs: readonly number[]): number {
  if (!xs.length) throw new Error('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Waits for queued device work, so a timer read after it covers the kernels too. */
export function sync(device: u.Device): void {
  if (device !== 'cpu') u.cuda.synchronize();
}

/** Milliseconds `fn` takes, device work included. */
export async function timeMs(device: u.Device, fn: () => unknown): Promise<number> {
  sync(device);
  const start = process.hrtime.bigint();
  await fn();
  sync(device);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

let pythonChoice: { exe: string; torch: string } | undefined;

/**
 * The Python with PyTorch to compare against: UNMIX_BENCH_PYTHON, else the first of the Python that
 * provided LibTorch, python3 on PATH and /usr/bin/python3 whose torch matches the loaded LibTorch's
 * version, else the first with torch.
 */
export function findPython(): { exe: string; torch: string } {
  if (pythonChoice) return pythonChoice;
  const fromEnv = process.env.UNMIX_BENCH_PYTHON;
  const candidates = fromEnv
    ? [fromEnv]
    : [...(u.info().python ? [u.info().python!] : []), 'python3', '/usr/bin/python3'];
  const found: { exe: string; torch: string }[] = [];
  for (const exe of candidates) {
    try {
      const torch = execFileSync(exe, ['-c', 'import torch, torchvision; print(torch.__version__)'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 120000,
      }).trim();
      found.push({ exe, torch });
    } catch {
      // no such interpreter, or no torch/torchvision in it
    }
  }
  const libtorch = u.info().libtorch;
  pythonChoice = found.find((p) => p.torch.startsWith(libtorch)) ?? found[0];
  if (!pythonChoice) {
    throw new Error(
      `bench: no Python with torch and torchvision found (tried ${candidates.join(', ')}). Install python3-torch and python3-torchvision, or set UNMIX_BENCH_PYTHON to an interpreter that has them.`,
    );
  }
  return pythonChoice;
}

/** A running Python twin: set up once, then one `measure` per repeat. */
export class PythonTwin {
  private readonly lines: AsyncIterator<string>;
  private stderr = '';

  private constructor(
    private readonly proc: ChildProcessWithoutNullStreams,
    readonly script: string,
  ) {
    proc.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    // A twin that could not start or has died shows up in reply() (stdout ends); keep its reason.
    proc.on('error', (e) => (this.stderr += `\n${e.message}`));
    proc.stdin.on('error', () => undefined);
    this.lines = readline.createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  }

  info: Record<string, unknown> = {};

  /** Starts bench/<script> with `config` (JSON) and waits until it has built its side. */
  static async start(script: string, config: Record<string, unknown>): Promise<PythonTwin> {
    const python = findPython();
    const proc = spawn(python.exe, [path.join(__dirname, '..', script), JSON.stringify(config)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    });
    const twin = new PythonTwin(proc, script);
    const ready = await twin.reply();
    if (ready.ready !== true) throw new Error(`bench: ${script} did not start: ${JSON.stringify(ready)}`);
    delete ready.ready;
    twin.info = { ...ready, executable: python.exe };
    return twin;
  }

  async measure(): Promise<Sample> {
    this.proc.stdin.write('measure\n');
    const sample = await this.reply();
    for (const [k, v] of Object.entries(sample)) {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new Error(`bench: ${this.script} answered ${k}=${JSON.stringify(v)}, expected a number`);
    }
    return sample as Sample;
  }

  async close(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.stdin.end('quit\n');
    await exited;
  }

  /** Kills the twin without waiting (after an error on our side). */
  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill();
  }

  /** The next JSON line; lines that are not JSON objects (a library's print) are skipped. */
  private async reply(): Promise<Record<string, unknown>> {
    for (;;) {
      const next = await this.lines.next();
      if (next.done) {
        const code = await new Promise<number | null>((resolve) =>
          this.proc.exitCode !== null ? resolve(this.proc.exitCode) : this.proc.once('exit', resolve),
        );
        throw new Error(
          `bench: ${this.script} exited (code ${code}) without answering. Its stderr:\n${this.stderr.trim()}`,
        );
      }
      if (!next.value.startsWith('{')) continue;
      const value = JSON.parse(next.value) as Record<string, unknown>;
      if (typeof value.error === 'string') throw new Error(`bench: ${this.script} failed:\n${value.error.trim()}`);
      return value;
    }
  }
}

/** Starts a twin, runs `fn` with it, and makes sure the twin is gone afterwards (also on errors). */
export async function withTwin<T>(
  script: string,
  config: Record<string, unknown>,
  fn: (twin: PythonTwin) => Promise<T>,
): Promise<T> {
  const twin = await PythonTwin.start(script, config);
  try {
    return await fn(twin);
  } finally {
    twin.kill();
  }
}

/**
 * Warm-up, then `repeats` alternating timed repeats of both sides; the twin is closed at the end
 * (withTwin kills it on errors).
 * `ts` runs one repeat of the TypeScript side and returns its sample.
 */
export async function alternate(
  twin: PythonTwin,
  ts: () => Promise<Sample>,
  o: Runs,
): Promise<{ ts: Sample[]; py: Sample[] }> {
  const out = { ts: [] as Sample[], py: [] as Sample[] };
  for (let i = 0; i < o.warmup; i++) {
    await ts();
    await twin.measure();
  }
  for (let r = 0; r < o.repeats; r++) {
    // TS, PY | PY, TS | TS, PY ...: each side goes first in half of the repeats
    const order = r % 2 === 0 ? ['ts', 'py'] : ['py', 'ts'];
    for (const side of order) {
      if (side === 'ts') out.ts.push(await ts());
      else out.py.push(await twin.measure());
    }
  }
  await twin.close();
  return out;
}

/** The common part of a result from both sides' samples (headline key `ms`). */
export function summarize(
  name: string,
  unit: string,
  common: CommonOptions,
  o: Runs,
  samples: { ts: Sample[]; py: Sample[] },
  twin: PythonTwin,
  config: Record<string, unknown>,
): CaseResult {
  const tsMs = median(samples.ts.map((s) => s.ms));
  const pyMs = median(samples.py.map((s) => s.ms));
  return {
    case: name,
    ts_ms: tsMs,
    py_ms: pyMs,
    speedup: pyMs / tsMs,
    unit,
    device: common.device,
    warmup: o.warmup,
    repeats: o.repeats,
    ts_samples_ms: samples.ts.map((s) => s.ms),
    py_samples_ms: samples.py.map((s) => s.ms),
    python: twin.info,
    config,
  };
}

/** Both sides must build the same network: a different parameter count means they do not. */
export function checkSameModel(what: string, tsParams: number, pyParams: unknown, hint = ''): void {
  if (tsParams !== pyParams)
    throw new Error(
      `bench: the TypeScript and Python ${what} differ: ${tsParams} vs ${String(pyParams)} parameters${hint}`,
    );
}

/** Frees an optimizer's momentum buffers (they are kept out of every scope). */
export function disposeOptimizer(opt: u.SGD): void {
  for (const b of opt.momentumBuffers.values()) b.dispose();
  opt.momentumBuffers.clear();
}
