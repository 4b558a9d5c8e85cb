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
const { findLibtorch, NotFound } = require('./find-libtorch');
const { prebuildDir } = require('./prebuild-path');

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

function compile(libtorch) {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  console.log(`unmix: compiling the native addon against LibTorch ${libtorch.version} (${libtorch.source}: ${libtorch.libDir})`);
  const env = { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: String(process.env.CMAKE_BUILD_PARALLEL_LEVEL || os.availableParallelism()) };
  const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build'], { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error('unmix: building the native addon failed (see the compiler output above).');
    process.exit(result.status || 1);
  }
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
  if (args[0] === '--record') {
    writeRecord(path.resolve(args[1]), libtorch.source, libtorch);
    return;
  }
  const prebuilt = path.join(prebuildDir(root, libtorch), 'unmix.node');
  if (!args.includes('--force') && fs.existsSync(prebuilt)) {
    linkLibtorch(path.dirname(prebuilt), libtorch.libDir);
    writeRecord(prebuilt, 'prebuilt', libtorch);
    console.log(`unmix: using the prebuilt addon ${path.relative(root, prebuilt)} (LibTorch ${libtorch.version}, ${libtorch.source})`);
    return;
  }
  compile(libtorch);
}

main();
