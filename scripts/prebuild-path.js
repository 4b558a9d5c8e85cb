'use strict';
// Where the prebuilt addon for a given LibTorch lives: one folder per platform, LibTorch version
// and CPU/CUDA flavour, so a prebuild is only ever used with the LibTorch it was built for.
const fs = require('fs');
const path = require('path');

function prebuildTag(libtorch) {
  return `libtorch-${libtorch.version}-${libtorch.cuda ? 'cuda' : 'cpu'}`;
}

function prebuildDir(root, libtorch) {
  return path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, prebuildTag(libtorch));
}

/** The prebuilds this package ships for this platform (their tags). */
function shippedPrebuilds(root) {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((tag) => fs.existsSync(path.join(dir, tag, 'unmix.node')))
    .sort();
}

module.exports = { prebuildDir, prebuildTag, shippedPrebuilds };
