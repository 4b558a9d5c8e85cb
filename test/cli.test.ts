// The `unmix` command line, run as a user runs it (a separate node process).
import { execFileSync } from 'child_process';
import * as path from 'path';
import * as u from '../lib';

const root = path.join(__dirname, '..');
const unmix = (...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'lib', 'cli', 'unmix.ts'), ...args], { cwd: root, encoding: 'utf8' });

test('unmix info --json describes the loaded LibTorch', () => {
  const info = JSON.parse(unmix('info', '--json'));
  expect(Object.keys(info).sort()).toEqual(['cuda', 'cudaVersion', 'devices', 'libtorch', 'source', 'threads']);
  expect(info.libtorch).toMatch(/^\d+\.\d+\.\d+/);
  expect(['env', 'python', 'system', 'prebuilt']).toContain(info.source);
  expect(typeof info.cuda).toBe('boolean');
  expect(info.cuda ? typeof info.cudaVersion : info.cudaVersion).toBe(info.cuda ? 'string' : null);
  expect(info.devices).toBe(u.cuda.deviceCount());
  // Intra-op threads default to the machine's cores (Debian's LibTorch alone would use 1).
  expect(info.threads).toBe(Number(process.env.UNMIX_NUM_THREADS) || require('os').availableParallelism());
});

test('unmix info prints one line', () => {
  const out = unmix('info').trim();
  expect(out.split('\n')).toHaveLength(1);
  expect(out).toMatch(/^unmix: LibTorch \d+\.\d+\.\d+\S* \((env|python|system|prebuilt), .+\), (CUDA .+ with \d+ device\(s\)|CUDA not available), \d+ threads$/);
});

describe('unmix inspect', () => {
  const fs = require('fs') as typeof import('fs');
  const os = require('os') as typeof import('os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-inspect-'));

  test('lists a safetensors file and an unmix checkpoint as JSON', () => {
    const f = path.join(dir, 'a.safetensors');
    u.saveSafetensors(f, { 'layer.weight': u.zeros([2, 3]), steps: u.zeros([], { dtype: 'int64' }) }, { note: 'x' });
    expect(JSON.parse(unmix('inspect', f, '--json'))).toEqual({
      format: 'safetensors',
      tensors: [
        { name: 'layer.weight', shape: [2, 3], dtype: 'float32' },
        { name: 'steps', shape: [], dtype: 'int64' },
      ],
      metadata: { note: 'x' },
    });
    const c = path.join(dir, 'run.ckpt');
    u.saveCheckpoint(c, { modules: { head: new u.Linear(2, 1) }, epoch: 4 });
    const info = JSON.parse(unmix('inspect', c, '--json'));
    expect(info.format).toBe('unmix-checkpoint');
    expect(info.metadata.epoch).toBe(4);
    expect(info.tensors.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['modules.head.weight', 'modules.head.bias', 'rng.cpu']));
    expect(unmix('inspect', c)).toMatch(/run\.ckpt: unmix-checkpoint, \d+ tensors\n\s+modules\.head\.bias\s+float32\s+\[1\]/);
  });

  test('a file it cannot read: non-zero exit and one line saying why', () => {
    const bad = path.join(dir, 'bad.bin');
    fs.writeFileSync(bad, 'hello');
    const r = require('child_process').spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'lib', 'cli', 'unmix.ts'), 'inspect', bad], { cwd: root, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([`unmix: ${bad}: not a valid safetensors file: only 5 bytes`]);
  });
});
