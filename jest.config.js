/** Jest runs the TypeScript sources directly; the suite is device-agnostic (UNMIX_TEST_DEVICE). */
// Two suites at a time, each (and each process it starts) on one LibTorch thread unless
// UNMIX_NUM_THREADS says otherwise: on 2 cores that ran the suite in 0.6 of the time one suite at
// a time on two threads took. Each worker holds one LibTorch; memory stays a few GB.
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
