// LibTorch discovery order and the install script's failure message.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..');
const find = path.join(root, 'scripts', 'find-libtorch.js');

/** A fake LibTorch folder with the files discovery reads. */
function fakeLibtorch(version: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-libtorch-'));
  const cmake = path.join(dir, 'share', 'cmake', 'Torch');
  fs.mkdirSync(cmake, { recursive: true });
  fs.mkdirSync(path.join(dir, 'include', 'ATen'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'lib'));
  fs.writeFileSync(path.join(cmake, 'TorchConfig.cmake'), 'set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=0")\n');
  fs.writeFileSync(path.join(cmake, 'TorchConfigVersion.cmake'), `set(PACKAGE_VERSION "${version}")\n`);
  fs.writeFileSync(path.join(dir, 'lib', 'libtorch.so'), '');
  fs.writeFileSync(path.join(dir, 'lib', 'libtorch_cuda.so'), '');
  return dir;
}

function discover(env: NodeJS.ProcessEnv) {
  return JSON.parse(execFileSync(process.execPath, [find], { env, encoding: 'utf8' }));
}

const baseEnv = () => {
  const env = { ...process.env };
  delete env.LIBTORCH;
  delete env.Torch_DIR;
  return env;
};

test('LIBTORCH comes first', () => {
  const dir = fakeLibtorch('9.8.7');
  const info = discover({ ...baseEnv(), LIBTORCH: dir });
  expect(info.source).toBe('env');
  expect(info.version).toBe('9.8.7');
  expect(info.libDir).toBe(path.join(fs.realpathSync(dir), 'lib'));
  expect(info.cuda).toBe(true);
  expect(info.cxx11Abi).toBe('0');
  expect(info.cxxStandard).toBe(20); // LibTorch 2.13+ headers need C++20
});

test("then the python3 on PATH's torch", () => {
  const dir = fakeLibtorch('2.11.0');
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-bin-'));
  fs.writeFileSync(path.join(bin, 'python3'), `#!/bin/sh\necho ${path.join(dir, 'share', 'cmake')}\n`, { mode: 0o755 });
  const info = discover({ ...baseEnv(), PATH: `${bin}:${process.env.PATH}` });
  expect(info.source).toBe('python');
  expect(info.version).toBe('2.11.0');
  expect(info.cxxStandard).toBe(17);
});

const systemDir = `/usr/lib/${os.arch() === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/cmake/Torch`;
const withSystemTorch = fs.existsSync(systemDir) ? test : test.skip;

withSystemTorch(`then the system LibTorch (${systemDir}) when python3 has no torch`, () => {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-bin-'));
  fs.writeFileSync(path.join(bin, 'python3'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
  const info = discover({ ...baseEnv(), PATH: `${bin}:${process.env.PATH}` });
  expect(info.source).toBe('system');
  expect(info.torchDir).toBe(systemDir);
});

test('a bad LIBTORCH fails install with one line naming the fix', () => {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'install.js')], {
    env: { ...baseEnv(), LIBTORCH: '/nonexistent/libtorch' },
    encoding: 'utf8',
  });
  expect(r.status).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^unmix: LIBTORCH=\/nonexistent\/libtorch has no .*apt-get install libtorch-dev.*pip install torch.*npm install/);
});
