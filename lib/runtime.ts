// What was loaded: LibTorch version and origin, CUDA, threads.
import { addonRecord, native } from './native';
import * as is from './validate';

export interface RuntimeInfo {
  /** LibTorch's version (TORCH_VERSION) */
  libtorch: string;
  /** Where LibTorch came from: LIBTORCH/Torch_DIR (env), a Python's torch (python), the system's (system). */
  source: 'env' | 'python' | 'system';
  /** The Python whose torch LibTorch is, when source is 'python'. */
  python: string | null;
  /** The native addon: a shipped prebuild, or compiled at install. */
  addon: 'prebuilt' | 'compiled';
  /** A CUDA device can be used now. */
  cuda: boolean;
  /** LibTorch was built with CUDA (whether or not a GPU is there). */
  cudaBuild: boolean;
  /** The CUDA version LibTorch was built with, else null. */
  cudaVersion: string | null;
  /** The cuDNN version LibTorch was built with, else null. */
  cudnnVersion: string | null;
  /** NCCL's version when LibTorch loaded it, else null. */
  nccl: string | null;
  /** CUDA devices available now (0 without a GPU or driver). */
  devices: number;
  /** LibTorch's C++ ABI: true for the C++11 ABI (_GLIBCXX_USE_CXX11_ABI=1). */
  cxx11Abi: boolean;
  /** Intra-op threads. */
  threads: number;
  /**
   * Process-group backends this addon has (Gloo needs Gloo's headers at build time: libgloo-dev;
   * NCCL a CUDA LibTorch with NCCL, and CUDA's and NCCL's headers). NCCL also needs a CUDA device to run.
   */
  distributed: { gloo: boolean; nccl: boolean };
  /** The folder LibTorch's libraries were loaded from. */
  libDir: string;
}

/** A `KEY=value` of at::show_config()'s build settings, or null. */
function buildSetting(config: string, key: string): string | null {
  for (const match of config.matchAll(/(?:^|[\s,])([A-Z_]+)=([^,\s]*)/g)) {
    if (match[1] === key) return match[2] === '' ? null : match[2];
  }
  return null;
}

let build: ReturnType<typeof native.buildInfo> | undefined;

export function info(): RuntimeInfo {
  const n = native.info();
  build ??= native.buildInfo();
  const cudaBuild = build.cudaBuild;
  return {
    libtorch: n.libtorch,
    source: addonRecord.libtorch.source,
    python: addonRecord.libtorch.python ?? null,
    addon: addonRecord.source === 'prebuilt' ? 'prebuilt' : 'compiled',
    cuda: n.cuda,
    cudaBuild,
    cudaVersion: cudaBuild ? (buildSetting(build.config, 'CUDA_VERSION') ?? n.cudaVersion) : null,
    cudnnVersion: cudaBuild ? buildSetting(build.config, 'CUDNN_VERSION') : null,
    nccl: build.nccl,
    devices: n.devices,
    cxx11Abi: build.cxx11Abi,
    threads: n.threads,
    distributed: (() => {
      const d = (native as unknown as { distributed: { gloo: boolean; nccl: boolean } }).distributed;
      return { gloo: d.gloo, nccl: d.nccl };
    })(),
    libDir: addonRecord.libtorch.libDir,
  };
}

/** How LibTorch was built, as `torch.__config__.show()` prints it. */
export function buildConfig(): string {
  build ??= native.buildInfo();
  return build.config;
}

/** Intra-op threads LibTorch uses (defaults to the machine's cores, or UNMIX_NUM_THREADS). */
export function setNumThreads(n: number): void {
  // 0 or a fraction would reach LibTorch; what is not a number is refused by the native layer
  // (test/hostile/native.test.ts checks that its refusal does not abort)
  if (typeof n === 'number') is.positiveInt('setNumThreads', 'threads', n);
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}
