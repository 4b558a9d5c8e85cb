#!/usr/bin/env node
// `npm run prebuild`: compiles the addon against the LibTorch found here and stores it under
// prebuilds/<platform>-<arch>/libtorch-<version>-<cpu|cuda>/ so `npm pack` ships it and an
// install next to the same LibTorch loads it without compiling.
'use strict';

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { findLibtorch } = require('./find-libtorch');
const { prebuildDir } = require('./prebuild-path');

const root = path.resolve(__dirname, '..');
const libtorch = findLibtorch();
const built = path.join(root, 'build', 'Release', 'unmix.node');
if (!process.argv.includes('--no-compile') || !fs.existsSync(built)) {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'install.js'), '--force'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) process.exit(r.status || 1);
}
const dir = prebuildDir(root, libtorch);
fs.mkdirSync(dir, { recursive: true });
fs.copyFileSync(built, path.join(dir, 'unmix.node'));
const meta = {
  version: libtorch.version,
  cuda: libtorch.cuda,
  builtAgainst: libtorch.libDir,
  node: process.version,
  date: new Date().toISOString(),
};
fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
console.log(`unmix: prebuild written to ${path.relative(root, dir)}`);
