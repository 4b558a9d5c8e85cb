/** Jest runs the TypeScript sources directly; the suite is device-agnostic (UNMIX_TEST_DEVICE). */
// Two suites at a time, each (and each process it starts) on one LibTorch thread unless
// UNMIX_NUM_THREADS says otherwise: on 2 cores, 13 mid-sized suites took 225 s against 372 s one
// at a time on two threads (`npx jest -w1 FILES` against `UNMIX_NUM_THREADS=1 npx jest -w2 FILES`).
// Each worker holds one LibTorch; memory stays a few GB.
process.env.UNMIX_NUM_THREADS ??= '1';
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 120000,
  maxWorkers: 2,
  // the longest suites first, also on a fresh machine
  testSequencer: '<rootDir>/test/support/sequencer.js',
  // List every test, so skipped CUDA-only tests show the reason in their name.
  verbose: true,
};
