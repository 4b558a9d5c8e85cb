#!/usr/bin/env node
// Finds LibTorch, in this order: LIBTORCH / Torch_DIR, the torch of the python3 on PATH, the
// system's (Debian/Ubuntu libtorch-dev). Used by CMakeLists.txt, binding.gyp, the install script
// and the loader, so every build sees the same LibTorch.
//
//   node scripts/find-libtorch.js            JSON description
//   node scripts/find-libtorch.js --field F  one field (torchDir, includeDirs, libDir, ...)
//   node scripts/find-libtorch.js --gyp-cflags | --gyp-libs | --gyp-includes
'use strict';

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const FIX =
  'LibTorch was not found. Install it with `apt-get install libtorch-dev` (Debian/Ubuntu), ' +
  'or `pip install torch` for the python3 on PATH, or point LIBTORCH at an unpacked LibTorch ' +
  '(or Torch_DIR at the folder holding TorchConfig.cmake), then run `npm install` again.';

class NotFound extends Error {}

function isTorchDir(dir) {
  return !!dir && fs.existsSync(path.join(dir, 'TorchConfig.cmake'));
}

function fromEnv() {
  if (process.env.Torch_DIR) {
    if (!isTorchDir(process.env.Torch_DIR)) {
      throw new NotFound(`Torch_DIR=${process.env.Torch_DIR} has no TorchConfig.cmake. ${FIX}`);
    }
    return process.env.Torch_DIR;
  }
  if (process.env.LIBTORCH) {
    const dir = path.join(process.env.LIBTORCH, 'share', 'cmake', 'Torch');
    if (!isTorchDir(dir))
      throw new NotFound(`LIBTORCH=${process.env.LIBTORCH} has no share/cmake/Torch/TorchConfig.cmake. ${FIX}`);
    return dir;
  }
  return null;
}

function fromPython() {
  if (process.env.UNMIX_SKIP_PYTHON_TORCH) return null;
  try {
    const script = 'import sys, torch; print(torch.utils.cmake_prefix_path); print(sys.executable)';
    const out = execFileSync('python3', ['-c', script], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60000,
    });
    const [prefix, python] = out.trim().split('\n');
    const dir = path.join(prefix.trim(), 'Torch');
    return isTorchDir(dir) ? { dir, python: (python || '').trim() || null } : null;
  } catch {
    return null;
  }
}

function fromSystem() {
  const candidates = [
    `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/cmake/Torch`,
    '/usr/lib/cmake/Torch',
    '/usr/share/cmake/Torch',
    '/usr/local/share/cmake/Torch',
    '/usr/local/lib/cmake/Torch',
  ];
  return candidates.find(isTorchDir) || null;
}

function readVersion(torchDir) {
  const text = fs.readFileSync(path.join(torchDir, 'TorchConfigVersion.cmake'), 'utf8');
  const match = /set\(PACKAGE_VERSION "([^"]+)"\)/.exec(text);
  return match ? match[1] : 'unknown';
}

function atLeast(version, major, minor) {
  const [a, b] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

// What unmix is built and tested against (README "Supported LibTorch"): Debian's 1.13.1, pip's
// 2.11 (CUDA 13, the GPU machine), 2.13.0+cpu and 2.14.1 (CUDA 13). Older ones lack APIs the
// addon uses; newer ones are tried with a warning.
const OLDEST = [1, 13];
const NEWEST_TESTED = [2, 14];
const SUPPORTED = 'LibTorch 1.13 and 2.x up to 2.14 with the C++11 ABI, on linux-x64';

// LibTorch's C++ ABI: its CMake flag where it states one (1.x, early 2.x), else whether libc10's
// symbols carry the [abi:cxx11] tag (mangled "B5cxx11"); 2.7+ wheels are always C++11 ABI.
function detectCxx11Abi(config, libDir) {
  const flag = /_GLIBCXX_USE_CXX11_ABI=(\d)/.exec(config);
  if (flag) return flag[1];
  try {
    return fs.readFileSync(path.join(libDir, 'libc10.so')).includes('B5cxx11') ? '1' : '0';
  } catch {
    return null;
  }
}

// The reason this LibTorch cannot be used, or null. Checked before any compiler runs.
function unsupported(info) {
  if (!/^\d+\.\d+/.test(info.version))
    return `LibTorch at ${info.torchDir} states no version (TorchConfigVersion.cmake)`;
  if (!atLeast(info.version, OLDEST[0], OLDEST[1]))
    return `LibTorch ${info.version} (${info.source}: ${info.libDir}) is too old`;
  if (info.cxx11Abi === '0') {
    return `LibTorch ${info.version} (${info.source}: ${info.libDir}) uses the pre-C++11 ABI (_GLIBCXX_USE_CXX11_ABI=0); unmix is built and tested with the C++11 ABI only (Debian's LibTorch, pip's torch since 2.7, LibTorch's cxx11-abi zips)`;
  }
  return null;
}

function untested(info) {
  return atLeast(info.version, NEWEST_TESTED[0], NEWEST_TESTED[1] + 1)
    ? `LibTorch ${info.version} is newer than the newest tested (${NEWEST_TESTED.join('.')}); trying it`
    : null;
}

// NCCL's process group: compiled into the addon where LibTorch is a CUDA build whose torch_cuda
// exports c10d::ProcessGroupNCCL (its CMake target defines USE_C10D_NCCL, as torch's extensions
// get) and the headers ProcessGroupNCCL.hpp includes are found: CUDA's runtime (with crt/ and
// CCCL's nv/target) and nccl.h, from pip's nvidia-* packages beside the torch wheel
// (nvidia-cuda-runtime, nvidia-cuda-crt, nvidia-cuda-cccl, nvidia-nccl), else CUDA_HOME or
// /usr/local/cuda. Otherwise the addon is built without it and says so (distributed.nccl false).
const NCCL_HEADERS = ['cuda_runtime_api.h', 'crt/host_config.h', 'nv/target', 'nccl.h'];
const IMPLICIT_INCLUDES = ['/usr/include', '/usr/local/include'];

function ncclSupport(torchDir, root, cuda) {
  const none = (why) => ({ nccl: false, ncclIncludeDirs: [], ncclMissing: why });
  if (!cuda) return none('a CPU-only LibTorch');
  const header = path.join(root, 'include', 'torch', 'csrc', 'distributed', 'c10d', 'ProcessGroupNCCL.hpp');
  let targets = '';
  try {
    targets = fs.readFileSync(path.join(torchDir, '..', 'Caffe2', 'Caffe2Targets.cmake'), 'utf8');
  } catch {
    // no Caffe2 targets: decided by the header alone
  }
  if (!fs.existsSync(header) || (targets && !targets.includes('USE_C10D_NCCL')))
    return none('this LibTorch was built without NCCL');
  // A wheel's own nvidia-* packages first: they match the CUDA it was built with.
  const candidates = [];
  const nvidia = path.join(root, '..', 'nvidia');
  if (fs.existsSync(nvidia))
    for (const d of fs.readdirSync(nvidia).sort()) candidates.push(path.join(nvidia, d, 'include'));
  for (const v of ['CUDA_HOME', 'CUDA_PATH']) if (process.env[v]) candidates.push(path.join(process.env[v], 'include'));
  candidates.push('/usr/local/cuda/include');
  candidates.push(...IMPLICIT_INCLUDES);
  const dirs = [];
  for (const h of NCCL_HEADERS) {
    const dir = candidates.find((d) => fs.existsSync(path.join(d, h)));
    if (!dir)
      return none(
        `no ${h} (CUDA's and NCCL's headers: pip install nvidia-cuda-crt nvidia-cuda-cccl beside the torch wheel, or CUDA_HOME)`,
      );
    if (!dirs.includes(dir) && !IMPLICIT_INCLUDES.includes(dir)) dirs.push(dir);
  }
  return { nccl: true, ncclIncludeDirs: dirs, ncclMissing: null };
}

function describe(torchDir, source, python = null) {
  torchDir = fs.realpathSync(torchDir);
  const config = fs.readFileSync(path.join(torchDir, 'TorchConfig.cmake'), 'utf8');
  // <prefix>/share/cmake/Torch (wheels, LibTorch zips) or <prefix>/lib/<triplet>/cmake/Torch (Debian).
  const prefix = path.resolve(torchDir, '..', '..', '..', '..');
  const sharePrefix = path.resolve(torchDir, '..', '..', '..');
  const root = fs.existsSync(path.join(sharePrefix, 'include', 'ATen')) ? sharePrefix : prefix;
  const libCandidates = [path.join(root, 'lib'), path.resolve(torchDir, '..', '..')];
  const libDir = libCandidates.find(
    (d) => fs.existsSync(path.join(d, 'libtorch.so')) || fs.existsSync(path.join(d, 'libtorch_cpu.so')),
  );
  if (!libDir) throw new NotFound(`LibTorch at ${torchDir} has no libtorch.so next to it. ${FIX}`);
  const version = readVersion(torchDir);
  const cuda = fs.existsSync(path.join(libDir, 'libtorch_cuda.so'));
  return {
    source,
    version,
    // LibTorch's headers need C++20 from 2.13 on; 1.13 and early 2.x build as C++17.
    cxxStandard: atLeast(version, 2, 13) ? 20 : 17,
    torchDir,
    cmakePrefix: path.resolve(torchDir, '..'),
    includeDirs: [path.join(root, 'include'), path.join(root, 'include', 'torch', 'csrc', 'api', 'include')],
    libDir,
    cuda,
    ...ncclSupport(torchDir, root, cuda),
    cxx11Abi: detectCxx11Abi(config, libDir),
    ...(python ? { python } : {}),
  };
}

function findLibtorch() {
  const env = fromEnv();
  if (env) return describe(env, 'env');
  const python = fromPython();
  if (python) return describe(python.dir, 'python', python.python);
  const system = fromSystem();
  if (system) return describe(system, 'system');
  throw new NotFound(FIX);
}

// Why the addon an install record names cannot be loaded now (its LibTorch was upgraded, moved or
// removed since), or null. A file read: the loader calls it at every start.
function libtorchChanged(record) {
  const { torchDir, version, libDir } = record.libtorch;
  let now = null;
  try {
    now = readVersion(torchDir);
  } catch {
    // gone: said below
  }
  if (now === version) return null;
  const found = now ? `now holds LibTorch ${now}` : 'no longer holds a LibTorch';
  return (
    `the native addon was built for LibTorch ${version} at ${libDir}, which ${found}. ` +
    'Run `npm rebuild unmix` to rebuild it (or pick up a matching prebuild) for the LibTorch you have now.'
  );
}

function libraries(info) {
  const libs = ['-L' + info.libDir, `-Wl,-rpath,${info.libDir}`, '-ltorch', '-ltorch_cpu', '-lc10'];
  // Nothing in our code references torch_cuda directly: without --no-as-needed the linker drops
  // it and CUDA kernels are never registered.
  if (info.cuda) libs.push('-Wl,--no-as-needed', '-ltorch_cuda', '-lc10_cuda', '-Wl,--as-needed');
  return libs;
}

function main(argv) {
  let info;
  try {
    info = findLibtorch();
  } catch (e) {
    if (e instanceof NotFound) {
      process.stderr.write(`unmix: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const flag = argv[0];
  if (flag === '--field') {
    const value = info[argv[1]];
    process.stdout.write((Array.isArray(value) ? value.join(';') : String(value)) + '\n');
  } else if (flag === '--gyp-includes') {
    // -I/usr/include would break libstdc++'s #include_next; the compiler searches it anyway.
    const dirs = [...info.includeDirs, ...info.ncclIncludeDirs];
    process.stdout.write(dirs.filter((d) => !IMPLICIT_INCLUDES.includes(d)).join(' ') + '\n');
  } else if (flag === '--gyp-libs') {
    process.stdout.write(libraries(info).join(' ') + '\n');
  } else if (flag === '--gyp-cflags') {
    const flags = [`-std=c++${info.cxxStandard}`];
    if (info.cxx11Abi !== null) flags.push(`-D_GLIBCXX_USE_CXX11_ABI=${info.cxx11Abi}`);
    if (info.nccl) flags.push('-DUSE_C10D_NCCL', '-DUNMIX_WITH_NCCL', '-Wno-interference-size');
    process.stdout.write(flags.join(' ') + '\n');
  } else {
    process.stdout.write(JSON.stringify(info, null, 2) + '\n');
  }
}

module.exports = {
  findLibtorch,
  NotFound,
  FIX,
  SUPPORTED,
  unsupported,
  untested,
  readVersion,
  detectCxx11Abi,
  libtorchChanged,
};

if (require.main === module) main(process.argv.slice(2));
