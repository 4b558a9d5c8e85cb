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
