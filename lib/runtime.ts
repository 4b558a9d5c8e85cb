// What was loaded: LibTorch version and origin, CUDA, threads.
import { addonRecord, native } from './native';

export interface RuntimeInfo {
  libtorch: string;
  /** Where LibTorch came from: LIBTORCH/Torch_DIR, python3's torch, the system's; or a prebuilt addon. */
  source: 'env' | 'python' | 'system' | 'prebuilt';
  cuda: boolean;
  cudaVersion: string | null;
  devices: number;
  threads: number;
  /** The folder LibTorch's libraries were loaded from. */
  libDir: string;
}

export function info(): RuntimeInfo {
  const n = native.info();
  return {
    libtorch: n.libtorch,
    source: addonRecord.source,
    cuda: n.cuda,
    cudaVersion: n.cudaVersion,
    devices: n.devices,
    threads: n.threads,
    libDir: addonRecord.libtorch.libDir,
  };
}

/** Intra-op threads LibTorch uses (defaults to the machine's cores, or UNMIX_NUM_THREADS). */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}
