// Shared by every suite: the device under test (UNMIX_TEST_DEVICE=cpu|cuda) and small checks.
import * as u from '../lib';
import { native } from '../lib/native';

/** The suite runs unchanged on CPU (CI) and on CUDA (the GPU machine). */
export const device: u.Device = (process.env.UNMIX_TEST_DEVICE ?? 'cpu') as u.Device;

if (device.startsWith('cuda') && !u.cuda.isAvailable()) {
  throw new Error(
    `UNMIX_TEST_DEVICE=${device} but CUDA is not available in the loaded LibTorch (${u.info().libtorch}, ${u.info().source})`,
  );
}

/** Runs `fn` only when CUDA is there; otherwise one skipped test says why. */
export const cudaOnly = u.cuda.isAvailable()
  ? test
  : (name: string, fn: () => unknown) =>
      test.skip(`${name} (skipped: CUDA is not available on this machine)`, fn as () => void);

export function values(t: u.Tensor): number[] {
  return Array.from(t.data() as ArrayLike<number | bigint>, (v) => Number(v));
}

/**
 * Collects garbage and lets FinalizationRegistry callbacks free what it found, so liveTensors()
 * counts only reachable tensors (other suites in the same process leave garbage behind that a
 * later GC would free mid-test). V8 cleans one registry per task, and in a jest worker the
 * registries of earlier test files (their own contexts) queue too: turn the event loop until the
 * count has held for three turns.
 */
export async function settle(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const v8 = require('v8') as typeof import('v8');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const vm = require('vm') as typeof import('vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  let last = -1;
  let held = 0;
  for (let i = 0; i < 300 && held < 3; i++) {
    gc();
    native.sweepCollected(); // what the collection freed, even where FinalizationRegistry callbacks are held back
    await new Promise((resolve) => setImmediate(resolve));
    const now = u.liveTensors().count;
    held = now === last ? held + 1 : 0;
    last = now;
  }
}
