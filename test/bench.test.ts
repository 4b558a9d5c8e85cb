// The benchmark runner (bench/run.ts): a tiny op-overhead run through `npm run bench` gives one JSON
// object whose figures are consistent (medians of the samples, speedup = Python ÷ TypeScript), and
// bad input fails with a clear message. Speed itself is not checked here.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { findPython } from '../bench/cases/harness';
import { device } from './helpers';

const root = path.join(__dirname, '..');

function bench(args: string[]) {
  const r = spawnSync('npm', ['run', 'bench', '--', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, npm_config_loglevel: 'warn' },
    timeout: 120000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

// The Python side needs torch and torchvision (Debian: python3-torch python3-torchvision).
let why = '';
try {
  findPython();
} catch (e) {
  why = ` (skipped: ${(e as Error).message})`;
}
const withPython = why ? test.skip : test;

withPython(
  `npm run bench -- op-overhead --json --quick prints consistent figures for both sides${why}`,
  () => {
    const r = bench(['op-overhead', '--json', '--quick', '--repeats', '3', '--device', device]);
    expect(r.stderr).not.toMatch(/failed|Error/);
    expect(r.status).toBe(0);
    const line = r.stdout.trim().split('\n').pop()!;
    const out = JSON.parse(line);
    expect(out.case).toBe('op-overhead');
    expect(out.device).toBe(device);
    for (const k of ['ts_ms', 'py_ms', 'speedup']) {
      expect(typeof out[k]).toBe('number');
      expect(out[k]).toBeGreaterThan(0);
      expect(Number.isFinite(out[k])).toBe(true);
    }
    expect(relative(out.speedup, out.py_ms / out.ts_ms)).toBeLessThan(1e-12);
    // three alternating repeats per side, the headline their median
    expect(out.repeats).toBe(3);
    expect(out.ts_samples_ms).toHaveLength(3);
    expect(out.py_samples_ms).toHaveLength(3);
    expect(out.ts_ms).toBe(median(out.ts_samples_ms));
    expect(out.py_ms).toBe(median(out.py_samples_ms));
    expect(out.python.torch).toMatch(/^\d+\.\d+/);
    expect(out.python.threads).toBe(out.config.threads);
    expect(out.rows.map((row: { op: string }) => row.op)).toEqual([
      'add',
      'add_scalar',
      'add_',
      'matmul8x8',
      'index',
      'slice',
      'sum',
      'relu',
    ]);
    for (const row of out.rows) {
      expect(row.ts_us).toBeGreaterThan(0);
      expect(row.py_us).toBeGreaterThan(0);
      expect(relative(row.speedup, row.py_us / row.ts_us)).toBeLessThan(1e-12);
    }
  },
  120000,
);

test('unknown cases and bad option values fail with a clear message', () => {
  const unknown = bench(['no-such-case', '--json']);
  expect(unknown.status).not.toBe(0);
  expect(unknown.stderr).toMatch(/unknown command 'no-such-case'/);
  const repeats = bench(['knn', '--repeats', '0']);
  expect(repeats.status).not.toBe(0);
  expect(repeats.stderr).toMatch(/--repeats <n>' argument '0' is invalid\. expected an integer >= 1/);
}, 120000);
