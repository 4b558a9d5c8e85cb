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
  expect(lines[0]).toMatch(
    /^unmix: LIBTORCH=\/nonexistent\/libtorch has no .*apt-get install libtorch-dev.*pip install torch.*npm install/,
  );
});

/** scripts/ and package.json in a temp package root, so the install script writes nothing here. */
function scratchPackage(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-pkg-'));
  fs.cpSync(path.join(root, 'scripts'), path.join(dir, 'scripts'), { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  return dir;
}

/** A PATH with node alone: no cmake, no compiler. */
function nodeOnlyPath(): string {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-bin-'));
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  return bin;
}

function install(pkg: string, env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [path.join(pkg, 'scripts', 'install.js')], { cwd: pkg, env, encoding: 'utf8' });
}

test.each([
  ['1.12.1', '1', /LibTorch 1\.12\.1 \(env: .*\) is too old\. unmix supports LibTorch 1\.13 and 2\.x up to 2\.14/],
  ['2.14.1', '0', /LibTorch 2\.14\.1 .* uses the pre-C\+\+11 ABI .*C\+\+11 ABI only/],
])(
  'LibTorch %s with _GLIBCXX_USE_CXX11_ABI=%s is refused in one line before any compiler runs',
  (version, abi, message) => {
    const dir = fakeLibtorch(version);
    fs.writeFileSync(
      path.join(dir, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'),
      `set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=${abi}")\n`,
    );
    const pkg = scratchPackage();
    const r = install(pkg, { ...baseEnv(), LIBTORCH: dir });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(lines[0]).toMatch(/npm rebuild unmix/);
    expect(r.stdout).not.toMatch(/compiling/);
    expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false);
  },
);

test('the C++ ABI is read from libc10 when TorchConfig.cmake states none (pip 2.7+)', () => {
  const dir = fakeLibtorch('2.14.1');
  fs.writeFileSync(path.join(dir, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), '# no ABI flag\n');
  fs.writeFileSync(path.join(dir, 'lib', 'libc10.so'), 'ELF ... _ZN3c106detail14torchCheckFailB5cxx11EPKc ...');
  expect(discover({ ...baseEnv(), LIBTORCH: dir }).cxx11Abi).toBe('1');
  fs.writeFileSync(path.join(dir, 'lib', 'libc10.so'), 'ELF ... _ZN3c106detail14torchCheckFailEPKc ...');
  expect(discover({ ...baseEnv(), LIBTORCH: dir }).cxx11Abi).toBe('0');
});

test('no matching prebuild and no compiler: one line naming the LibTorch found, the prebuilds shipped and what to install', () => {
  const dir = fakeLibtorch('2.12.0');
  fs.writeFileSync(
    path.join(dir, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'),
    'set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=1")\n',
  );
  const pkg = scratchPackage();
  for (const tag of ['libtorch-1.13.0-cpu', 'libtorch-2.14.1-cuda']) {
    fs.mkdirSync(path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`, tag), { recursive: true });
    fs.writeFileSync(path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`, tag, 'unmix.node'), '');
  }
  const r = install(pkg, { ...baseEnv(), LIBTORCH: dir, PATH: nodeOnlyPath() });
  expect(r.status).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(
    /^unmix: no prebuilt addon for LibTorch 2\.12\.0 \(CUDA; env: .*\), and cmake and a C\+\+ compiler are not installed/,
  );
  expect(lines[0]).toContain(
    `Prebuilds shipped for ${process.platform}-${process.arch}: libtorch-1.13.0-cpu, libtorch-2.14.1-cuda.`,
  );
  expect(lines[0]).toMatch(/pip install torch==2\.14\.1.*apt-get install cmake g\+\+.*npm rebuild unmix/);
  expect(r.stdout).not.toMatch(/compiling/);
});

test('an addon whose LibTorch changed or went since it was built is refused at load, naming the fix', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { libtorchChanged } = require(find);
  const dir = fakeLibtorch('2.13.0');
  const torchDir = path.join(dir, 'share', 'cmake', 'Torch');
  const record = { libtorch: { version: '2.13.0', libDir: path.join(dir, 'lib'), torchDir } };
  expect(libtorchChanged(record)).toBeNull();
  fs.writeFileSync(path.join(torchDir, 'TorchConfigVersion.cmake'), 'set(PACKAGE_VERSION "2.14.1")\n');
  expect(libtorchChanged(record)).toMatch(
    /built for LibTorch 2\.13\.0 at .*, which now holds LibTorch 2\.14\.1\. Run `npm rebuild unmix`/,
  );
  fs.rmSync(dir, { recursive: true });
  expect(libtorchChanged(record)).toMatch(/which no longer holds a LibTorch\. Run `npm rebuild unmix`/);
});

test('a build folder configured for another LibTorch is started afresh (cmake-js would not reconfigure it)', () => {
  const dir = fakeLibtorch('2.13.0');
  fs.writeFileSync(
    path.join(dir, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'),
    'set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=1")\n',
  );
  const pkg = scratchPackage();
  fs.mkdirSync(path.join(pkg, 'build'));
  fs.writeFileSync(path.join(pkg, 'build', 'CMakeCache.txt'), 'configured for LibTorch 1.13.0\n');
  fs.writeFileSync(path.join(pkg, 'build', 'libtorch.stamp'), '1.13.0 /usr/lib/x86_64-linux-gnu/cmake/Torch\n');
  // cmake and a compiler on PATH: it goes on to compile (and fails here: the scratch package has no
  // sources), having removed the stale configuration first
  const bin = nodeOnlyPath();
  for (const tool of ['cmake', 'c++']) fs.writeFileSync(path.join(bin, tool), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
  const r = install(pkg, { ...baseEnv(), LIBTORCH: dir, PATH: bin });
  expect(r.stdout).toMatch(/compiling the native addon against LibTorch 2\.13\.0/);
  expect(r.status).not.toBe(0);
  expect(fs.existsSync(path.join(pkg, 'build', 'CMakeCache.txt'))).toBe(false);
});
