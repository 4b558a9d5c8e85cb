#!/usr/bin/env node
// `npm install` entry: finds LibTorch, uses a matching prebuilt addon from prebuilds/ when there
// is one, otherwise compiles native/ with cmake-js. Records the choice in build/addon.json, which
// the loader (lib/native.ts) and `unmix info` read.
//
//   node scripts/install.js            prebuild if it matches, else compile
//   node scripts/install.js --force    always compile
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { findLibtorch, NotFound, SUPPORTED, unsupported, untested } = require('./find-libtorch');
const { prebuildDir, shippedPrebuilds } = require('./prebuild-path');

const root = path.resolve(__dirname, '..');
const record = path.join(root, 'build', 'addon.json');

function writeRecord(addon, source, libtorch) {
  fs.mkdirSync(path.dirname(record), { recursive: true });
  const body = { addon: path.relative(root, addon), source, libtorch, builtAt: new Date().toISOString() };
  fs.writeFileSync(record, JSON.stringify(body, null, 2) + '\n');
}

// A prebuild finds LibTorch through `libtorch` next to it (its rpath starts with $ORIGIN/libtorch).
function linkLibtorch(dir, libDir) {
  const link = path.join(dir, 'libtorch');
  fs.rmSync(link, { force: true, recursive: true });
  fs.symlinkSync(libDir, link);
}

// A program on PATH, as a shell would find it.
function onPath(name) {
  return (process.env.PATH || '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir || '.', name), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function describeLibtorch(libtorch) {
  const from = libtorch.python ? `python: ${libtorch.python}` : `${libtorch.source}: ${libtorch.libDir}`;
  return `LibTorch ${libtorch.version} (${libtorch.cuda ? 'CUDA' : 'CPU'}; ${from})`;
}

// Without cmake or a C++ compiler there is nothing to compile with: say so in one line, naming
// what was found, what is shipped and what to install.
function refuseWithoutCompiler(libtorch) {
  const compiler = process.env.CXX
    ? onPath(process.env.CXX) || fs.existsSync(process.env.CXX)
    : ['c++', 'g++', 'clang++'].some(onPath);
  const missing = [onPath('cmake') ? null : 'cmake', compiler ? null : 'a C++ compiler'].filter(Boolean);
  if (!missing.length) return;
  const shipped = shippedPrebuilds(root);
  console.error(
    `unmix: no prebuilt addon for ${describeLibtorch(libtorch)}, and ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not installed to compile one. ` +
      `Prebuilds shipped for ${process.platform}-${process.arch}: ${shipped.length ? shipped.join(', ') : 'none'}. ` +
      `Install one of those LibTorch builds (for example \`pip install torch==2.14.1\`), or cmake and g++ (\`apt-get install cmake g++\`), then run \`npm rebuild unmix\`.`,
  );
  process.exit(1);
}

function compile(libtorch) {
  console.log(
    `unmix: compiling the native addon against LibTorch ${libtorch.version} (${libtorch.source}: ${libtorch.libDir})`,
  );
  // cmake-js reconfigures only a fresh build folder: one configured for another LibTorch would
  // keep its include and library folders and silently rebuild nothing. Start afresh then.
  const stamp = path.join(root, 'build', 'libtorch.stamp');
  const wanted = `${libtorch.version} ${libtorch.torchDir}\n`;
  if (fs.existsSync(path.join(root, 'build')) && (!fs.existsSync(stamp) || fs.readFileSync(stamp, 'utf8') !== wanted)) {
    fs.rmSync(path.join(root, 'build'), { recursive: true, force: true });
  }
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const env = {
    ...process.env,
    CMAKE_BUILD_PARALLEL_LEVEL: String(process.env.CMAKE_BUILD_PARALLEL_LEVEL || os.availableParallelism()),
  };
  const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build'], {
    cwd: root,
    stdio: 'inherit',
    env,
  });
  if (result.status !== 0) {
    console.error('unmix: building the native addon failed (see the compiler output above).');
    process.exit(result.status || 1);
  }
  fs.writeFileSync(stamp, wanted);
  writeRecord(path.join(root, 'build', 'Release', 'unmix.node'), libtorch.source, libtorch);
}

function main() {
  const args = process.argv.slice(2);
  let libtorch;
  try {
    libtorch = findLibtorch();
  } catch (e) {
    if (e instanceof NotFound) {
      console.error(`unmix: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
  const refused = unsupported(libtorch);
  if (refused) {
    console.error(
      `unmix: ${refused}. unmix supports ${SUPPORTED}; install one of those (see the README's "Supported LibTorch"), or point LIBTORCH at one, then run \`npm rebuild unmix\`.`,
    );
    process.exit(1);
  }
  const warning = untested(libtorch);
  if (warning) console.warn(`unmix: ${warning}.`);
  if (args[0] === '--record') {
    writeRecord(path.resolve(args[1]), libtorch.source, libtorch);
    return;
  }
  const prebuilt = path.join(prebuildDir(root, libtorch), 'unmix.node');
  if (!args.includes('--force') && fs.existsSync(prebuilt)) {
    linkLibtorch(path.dirname(prebuilt), libtorch.libDir);
    writeRecord(prebuilt, 'prebuilt', libtorch);
    console.log(`unmix: using the prebuilt addon ${path.relative(root, prebuilt)} for ${describeLibtorch(libtorch)}`);
    return;
  }
  refuseWithoutCompiler(libtorch);
  compile(libtorch);
}

main();
