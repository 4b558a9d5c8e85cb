/** Jest runs the TypeScript sources directly; the suite is device-agnostic (UNMIX_TEST_DEVICE). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 120000,
  // Native tensors and one LibTorch per process: run suites in band to keep memory bounded.
  maxWorkers: 1,
  // List every test, so skipped CUDA-only tests show the reason in their name.
  verbose: true,
};
