// Shared by every suite: the device under test (UNMIX_TEST_DEVICE=cpu|cuda) and small checks.
import * as u from '../lib';

/** The suite runs unchanged on CPU (CI) and on CUDA (the GPU machine). */
export const device: u.Device = (process.env.UNMIX_TEST_DEVICE ?? 'cpu') as u.Device;

if (device.startsWith('cuda') && !u.cuda.isAvailable()) {
  throw new Error(`UNMIX_TEST_DEVICE=${device} but CUDA is not available in the loaded LibTorch (${u.info().libtorch}, ${u.info().source})`);
}

/** Runs `fn` only when CUDA is there; otherwise one skipped test says why. */
export const cudaOnly = u.cuda.isAvailable() ? test : (name: string, fn: () => unknown) => test.skip(`${name} (skipped: CUDA is not available on this machine)`, fn as () => void);

export function values(t: u.Tensor): number[] {
  return Array.from(t.data() as ArrayLike<number | bigint>, (v) => Number(v));
}

/**
 * Collects garbage and lets N-API finalizers run, so liveTensors() counts only reachable tensors
 * (other suites in the same process leave garbage behind that a later GC would free mid-test).
 */
export async function settle(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const v8 = require('v8') as typeof import('v8');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const vm = require('vm') as typeof import('vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}
