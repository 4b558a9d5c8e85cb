// CUDA: availability, devices, synchronisation and memory. Works (and says no) on CPU-only builds.
import { native } from './native';
import { liveTensors } from './memory';

export function isAvailable(): boolean {
  return native.info().cuda;
}

export function deviceCount(): number {
  return native.info().devices;
}

/** Waits for all work queued on one device (or on every device). */
export function synchronize(device?: number): void {
  native.cudaSynchronize(device);
}

export interface CudaMemoryStats {
  /** Bytes held by live unmix tensors on this device. */
  tensorBytes: number;
  /** Highest tensorBytes since the process started or resetPeakMemory(). */
  peakTensorBytes: number;
  /** Free and total device memory as the driver reports them. */
  freeBytes: number;
  totalBytes: number;
}

export function memoryStats(device = 0): CudaMemoryStats {
  const mem = native.cudaMemInfo(device);
  const own = liveTensors().devices[`cuda:${device}`] ?? { bytes: 0, peakBytes: 0 };
  return { tensorBytes: own.bytes, peakTensorBytes: own.peakBytes, freeBytes: mem.free, totalBytes: mem.total };
}
