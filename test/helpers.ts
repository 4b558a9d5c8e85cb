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
