'use strict';
// Where the prebuilt addon for a given LibTorch lives: one folder per platform, LibTorch version
// and CPU/CUDA flavour, so a prebuild is only ever used with the LibTorch it was built for.
const path = require('path');

function prebuildTag(libtorch) {
  return `libtorch-${libtorch.version}-${libtorch.cuda ? 'cuda' : 'cpu'}`;
}

function prebuildDir(root, libtorch) {
  return path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, prebuildTag(libtorch));
}

module.exports = { prebuildDir, prebuildTag };
