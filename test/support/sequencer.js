// Jest starts the longest suites first so that its workers finish together. It knows durations from
// its cache after a run; on a fresh machine (CI) it would order by file size, which puts the README's
// training run, a small file and the longest suite, last. These are durations (seconds) from the
// stop-19 CI run's jest cache, pip 2.14.1 leg, one suite at a time; readme-run is its 3-epoch run
// alone on 2 threads; examples-launch and moco-ranks their runs alone here (stop 21). Only the order matters; a suite not listed counts as 5 s.
const Sequencer = require('@jest/test-sequencer').default;
const path = require('path');

const MEASURED_S = {
  'readme-run': 403,
  'examples-launch': 100,
  'moco-ranks': 20,
  gyp: 176,
  'image-folder': 129,
  examples: 94,
  moco: 84,
  resnet: 69,
  bench: 59,
  'plain-loop-memory': 57,
  fuzz: 39,
  synthetic: 38,
  'example-flags': 36,
  augment: 34,
  trainer: 33,
  'dataset-cli': 31,
  cli: 29,
  swav: 23,
  'byol-simclr': 21,
  'torch-file': 20,
  'nn-extra': 20,
  knn: 19,
  'optim-extra': 19,
  'parity-runner': 18,
  launch: 17,
  ddp: 17,
  unmix: 16,
  'files-nested': 16,
  'tensor-print': 16,
  fixtures: 15,
  memory: 15,
  distributed: 15,
  viz: 13,
  parity: 12,
  nn: 10,
};

class LongestFirst extends Sequencer {
  time(test) {
    const cached = super.time(test);
    if (cached != null) return cached;
    const name = path.relative(path.join(__dirname, '..'), test.path).replace(/\.test\.ts$/, '');
    return 1000 * (MEASURED_S[name] ?? MEASURED_S[path.basename(name)] ?? 5);
  }
}

module.exports = LongestFirst;
