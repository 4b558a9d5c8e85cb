// Mixed precision as torch.autocast: inside the region LibTorch runs eligible ops (convolutions,
// matmuls) in bfloat16 or float16 and keeps precision-sensitive ones in float32. The switch is
// per thread in LibTorch, so a region must be synchronous.
import { native } from './native';
import type { Device } from './tensor';
import * as is from './validate';

export type AutocastDtype = 'bfloat16' | 'float16';

export interface AutocastOptions {
  /** the device whose ops are cast ('cuda:1' counts as 'cuda') */
  device: Device;
  /** default as torch.autocast: float16 on CUDA, bfloat16 on CPU */
  dtype?: AutocastDtype;
  /** false runs `fn` with autocast off for this device (an exclusion inside a region) */
  enabled?: boolean;
}

/**
 * Runs `fn` under autocast for one device type and restores the previous state after, also when
 * `fn` throws: `with torch.autocast(device_type, dtype)`. Run backward outside the region, as in
 * PyTorch. `fn` must not return a Promise: work after an `await` would run outside the region.
 */
export function autocast<T>(options: AutocastOptions, fn: () => T): T {
  const device = String(options.device);
  const deviceType = device === 'cpu' ? 'cpu' : device === 'cuda' || device.startsWith('cuda:') ? 'cuda' : null;
  if (!deviceType) throw new TypeError(`autocast: device must be 'cpu' or 'cuda[:n]', got '${device}'`);
  const dtype = is.oneOf('autocast', 'dtype', options.dtype ?? (deviceType === 'cuda' ? 'float16' : 'bfloat16'), [
    'bfloat16',
    'float16',
  ]);
  if (options.enabled !== undefined) is.boolean('autocast', 'enabled', options.enabled);
  const before = native.setAutocast(deviceType, options.enabled ?? true, dtype);
  native.autocastNesting(1);
  let result: T;
  try {
    result = fn();
  } finally {
    native.autocastNesting(-1);
    native.setAutocast(deviceType, before.enabled, before.dtype);
  }
  if (result instanceof Promise) {
    result.catch(() => undefined); // its failure is not the caller's to handle now
    throw new Error(
      'autocast: the function returned a Promise; autocast is per thread, so a region must be synchronous (put the awaits outside it)',
    );
  }
  return result;
}
