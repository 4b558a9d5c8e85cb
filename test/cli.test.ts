// The `unmix` command line, run as a user runs it (a separate node process).
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
import { python, pythonHas } from './support/python';

const root = path.join(__dirname, '..');
const unmix = (...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'lib', 'cli', 'unmix.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
  });

test('unmix info --json describes the loaded LibTorch and how it was built', () => {
  const info = JSON.parse(unmix('info', '--json'));
  const keys = [
    'libtorch',
    'source',
    'python',
    'addon',
    'cuda',
    'cudaBuild',
    'cudaVersion',
    'cudnnVersion',
    'nccl',
    'devices',
    'cxx11Abi',
    'threads',
    'distributed',
    'libDir',
  ];
  expect(Object.keys(info).sort()).toEqual(keys.sort());
  expect(info.libtorch).toMatch(/^\d+\.\d+\.\d+/);
  expect(['env', 'python', 'system']).toContain(info.source);
  expect(info.python === null).toBe(info.source !== 'python');
  expect(['prebuilt', 'compiled']).toContain(info.addon);
  expect(typeof info.cuda).toBe('boolean');
  expect(info.devices).toBe(u.cuda.deviceCount());
  // Nothing claims a GPU that is not there.
  if (!info.cuda) expect(info.devices).toBe(0);
  if (info.cuda) expect(info.cudaBuild).toBe(true);
  expect(info.cxx11Abi).toBe(true);
  expect(Object.keys(info.distributed).sort()).toEqual(['gloo', 'nccl']);
  expect(typeof info.distributed.gloo).toBe('boolean');
  // NCCL's group is compiled in only against a CUDA LibTorch (Debian's 1.13 is CPU-only).
  expect(typeof info.distributed.nccl).toBe('boolean');
  if (!info.cudaBuild) expect(info.distributed.nccl).toBe(false);
  // Intra-op threads default to the machine's cores (Debian's LibTorch alone would use 1).
  expect(info.threads).toBe(Number(process.env.UNMIX_NUM_THREADS) || os.availableParallelism());
});

const withTorch = pythonHas('torch') ? test : test.skip;
withTorch(
  `unmix info's build facts are what the same LibTorch's Python says (${python})${pythonHas('torch') ? '' : ' (skipped: no Python torch)'}`,
  () => {
    const info = JSON.parse(unmix('info', '--json'));
    const script = [
      'import json, torch',
      'cudnn = torch.backends.cudnn.version() if torch.version.cuda else None',
      'nccl = torch.cuda.nccl.version() if torch.version.cuda and torch.distributed.is_nccl_available() else None',
      'print(json.dumps({"cuda": torch.version.cuda, "cudnn": cudnn, "nccl": nccl, "abi": torch.compiled_with_cxx11_abi(), "available": torch.cuda.is_available()}))',
    ].join('\n');
    const py = JSON.parse(execFileSync(python, ['-c', script], { encoding: 'utf8' }));
    expect(info.cudaBuild).toBe(py.cuda !== null);
    expect(info.cudaVersion).toBe(py.cuda);
    // cuDNN 92400 is 9.24.0
    const cudnn =
      py.cudnn === null
        ? null
        : `${Math.floor(py.cudnn / 10000)}.${Math.floor((py.cudnn % 10000) / 100)}.${py.cudnn % 100}`;
    expect(info.cudnnVersion).toBe(cudnn);
    expect(info.nccl).toBe(py.nccl === null ? null : py.nccl.join('.'));
    expect(info.cxx11Abi).toBe(py.abi);
    expect(info.cuda).toBe(py.available);
  },
);

test('unmix info prints where LibTorch came from, how it was built and what is available', () => {
  const lines = unmix('info').trim().split('\n');
  expect(lines).toHaveLength(4);
  expect(lines[0]).toMatch(/^unmix: LibTorch \d+\.\d+\.\d+\S* \((env|python: \S+|system); .+\)$/);
  expect(lines[1]).toMatch(
    /^ {2}(built with CUDA \S+, cuDNN \S+, NCCL \S+|CPU-only build); (\d+ CUDA device\(s\) available|no CUDA device available)$/,
  );
  expect(lines[2]).toMatch(/^ {2}addon (prebuilt|compiled), (C\+\+11|pre-C\+\+11) ABI, \d+ threads$/);
  expect(lines[3]).toMatch(
    /^ {2}process groups: (Gloo|Gloo, NCCL|Gloo, NCCL \(needs a CUDA device: none here\)|NCCL|NCCL \(needs a CUDA device: none here\)|none \(built without Gloo headers: apt-get install libgloo-dev, then npm rebuild unmix\))$/,
  );
  const { distributed } = u.info();
  expect(lines[3].includes('Gloo')).toBe(distributed.gloo);
  expect(lines[3].includes('NCCL')).toBe(distributed.nccl);
});

describe('unmix inspect', () => {
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
    expect(info.tensors.map((t: { name: string }) => t.name)).toEqual(
      expect.arrayContaining(['modules.head.weight', 'modules.head.bias', 'rng.cpu']),
    );
    expect(unmix('inspect', c)).toMatch(
      /run\.ckpt: unmix-checkpoint, \d+ tensors\n\s+modules\.head\.bias\s+float32\s+\[1\]/,
    );
  });

  test('a file it cannot read: non-zero exit and one line saying why', () => {
    const bad = path.join(dir, 'bad.bin');
    fs.writeFileSync(bad, 'hello');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'lib', 'cli', 'unmix.ts'), 'inspect', bad],
      { cwd: root, encoding: 'utf8' },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([`unmix: ${bad}: not a valid safetensors file: only 5 bytes`]);
  });
});
