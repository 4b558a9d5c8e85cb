// Loads the native addon chosen at install time (build/addon.json) and types its surface.
// Everything else in lib/ goes through this module; nothing outside lib/ should touch it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * Names one at::Tensor in the native side's table: a number, cheap to make and pass. Tensors go
 * back to native code as `Tensor` objects, whose `_handle` holds it (see native/common.h).
 */
export type TensorHandle = number;

/** A `Tensor` object passed to native code. */
type TensorArg = object;

export interface GeneratorHandle {
  manualSeed(seed: number | bigint): GeneratorHandle;
  initialSeed(): bigint;
  getState(): TensorHandle;
  setState(state: TensorArg): void;
  device(): string;
}

export interface NativeInfo {
  libtorch: string;
  cuda: boolean;
  cudaVersion: string | null;
  devices: number;
  threads: number;
  parallel: string;
}

/** How the loaded LibTorch was built: the same with or without a GPU. */
export interface NativeBuildInfo {
  /** at::show_config(), as torch.__config__.show() prints it */
  config: string;
  /** libtorch_cuda is loaded */
  cudaBuild: boolean;
  /** NCCL's version from the libnccl LibTorch loaded */
  nccl: string | null;
  /** the C++ ABI this addon (and so LibTorch) was compiled with */
  cxx11Abi: boolean;
}

export interface LiveTensorStats {
  count: number;
  bytes: number;
  devices: Record<string, { bytes: number; peakBytes: number }>;
  /** host bytes of this thread's tensors that only the GC will free, as reported to V8 (each storage once) */
  gcBytes: number;
  /** this thread's tensors that only the GC will free (some may be collected, not yet swept) */
  gcTensors: number;
}

/** A result of callOp other than one Tensor: tensors appear as {handle} objects. */
export type BoxedValue = { handle: TensorHandle } | BoxedValue[] | number | boolean | string | null;
/** callOp's result: a handle when the op returns one Tensor, undefined for none, else {result}. */
export type CallResult = TensorHandle | null | undefined | { result: BoxedValue };

export interface NativeAddon {
  setTensorHandleKey(key: symbol): void;
  disposeTensor(handle: TensorHandle): void;
  disposeTensors(handles: TensorHandle[]): void;
  /** the GC now owns the tensor: a weak reference to it, swept synchronously (see native/common.h); returns gcBytes */
  collectWhenUnreachable(tensor: TensorArg): number;
  /** frees the GC-owned tensors whose JS objects were collected; returns how many */
  sweepCollected(): number;
  /** [shape, strides, dtype, device, requiresGrad, isLeaf] */
  tensorMeta(tensor: TensorArg): [number[], number[], string, string, boolean, boolean];
  Generator: new (device?: string) => GeneratorHandle;
  resolveOp(name: string, unchecked?: boolean): number;
  callOp(id: number, args: unknown[], kwargs?: Record<string, unknown>): CallResult;
  opSchemas(name: string): string[];
  listOps(): string[];
  fromBuffer(data: ArrayBufferView, sourceDtype: string, shape: number[], dtype: string, device: string): TensorHandle;
  toBuffer(tensor: TensorArg, raw?: boolean): ArrayBuffer;
  toBufferAsync(tensor: TensorArg): Promise<ArrayBuffer>;
  /** a BigInt for an int64 that no double holds exactly */
  item(tensor: TensorArg): number | boolean | bigint;
  isContiguous(tensor: TensorArg, memoryFormat?: string): boolean;
  index(tensor: TensorArg, indices: unknown[]): TensorHandle;
  indexPut(tensor: TensorArg, indices: unknown[], value: TensorArg | number | boolean): void;
  backward(
    tensors: TensorArg[],
    grads: (TensorArg | null)[] | null,
    retainGraph?: boolean,
    createGraph?: boolean,
  ): void;
  autogradGrad(
    outputs: TensorArg[],
    inputs: TensorArg[],
    gradOutputs: (TensorArg | null)[] | null,
    retainGraph: boolean | undefined,
    createGraph: boolean,
    allowUnused: boolean,
  ): (TensorHandle | null)[];
  getGrad(tensor: TensorArg): TensorHandle | null;
  setGrad(tensor: TensorArg, grad: TensorArg | null): void;
  setRequiresGrad(tensor: TensorArg, requiresGrad: boolean): void;
  gradFnName(tensor: TensorArg): string | null;
  isGradEnabled(): boolean;
  setAutocast(deviceType: 'cpu' | 'cuda', enabled: boolean, dtype: string): { enabled: boolean; dtype: string };
  autocastNesting(delta: 1 | -1): number;
  setGradEnabled(enabled: boolean): void;
  info(): NativeInfo;
  buildInfo(): NativeBuildInfo;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number | bigint): void;
  getRngState(device?: string): TensorHandle;
  setRngState(state: TensorArg, device?: string): void;
  cudaSynchronize(device?: number): void;
  cudaMemInfo(device?: number): { free: number; total: number };
  liveTensors(): LiveTensorStats;
  resetPeakMemory(): void;
}

/** What build/addon.json records: which addon file and which LibTorch it was made for. */
export interface AddonRecord {
  addon: string;
  /** 'prebuilt' when a shipped prebuild was chosen, else where the compiled addon's LibTorch came from */
  source: 'env' | 'python' | 'system' | 'prebuilt';
  libtorch: {
    version: string;
    source: 'env' | 'python' | 'system';
    libDir: string;
    cuda: boolean;
    torchDir: string;
    cxx11Abi: string | null;
    /** the Python interpreter whose torch this LibTorch is (source 'python') */
    python?: string;
  };
}

export const packageRoot = path.resolve(__dirname, '..');

function readRecord(): AddonRecord {
  const recordPath = path.join(packageRoot, 'build', 'addon.json');
  if (fs.existsSync(recordPath)) return JSON.parse(fs.readFileSync(recordPath, 'utf8')) as AddonRecord;
  // npm may have skipped install scripts (--ignore-scripts, allowScripts): pick a matching
  // prebuild now, as the install script would have.
  const { findLibtorch } = require('../scripts/find-libtorch');
  const { prebuildDir } = require('../scripts/prebuild-path');
  const libtorch = findLibtorch();
  const prebuilt = path.join(prebuildDir(packageRoot, libtorch), 'unmix.node');
  if (!fs.existsSync(prebuilt)) {
    throw new Error(
      `unmix: the native addon has not been built (no ${recordPath}) and no prebuild matches LibTorch ` +
        `${libtorch.version} (${libtorch.cuda ? 'CUDA' : 'CPU'}). Run \`npm rebuild unmix\` (or \`npm install\` in ${packageRoot}).`,
    );
  }
  try {
    fs.rmSync(path.join(path.dirname(prebuilt), 'libtorch'), { force: true });
    fs.symlinkSync(libtorch.libDir, path.join(path.dirname(prebuilt), 'libtorch'));
  } catch {
    // read-only install: the prebuild's fallback rpath may still find LibTorch
  }
  return { addon: path.relative(packageRoot, prebuilt), source: 'prebuilt', libtorch };
}

function load(): { addon: NativeAddon; record: AddonRecord } {
  const record = readRecord();
  // An addon loaded into another LibTorch than the one it was built for fails on a missing symbol
  // at best and crashes at worst: check the version where it was found (one file read) first.
  const { libtorchChanged } = require('../scripts/find-libtorch');
  const changed = libtorchChanged(record) as string | null;
  if (changed) throw new Error(`unmix: ${changed}`);
  const file = path.resolve(packageRoot, record.addon);
  let addon: NativeAddon;
  // OpenMP threads that spin while waiting steal the cores from everything else: with a second
  // training process on the cores, a ResNet step took 287–3,000 ms spinning and 165–190 ms waiting
  // passively (`npx tsx bench/omp-wait.ts`). Passive unless the user chose otherwise (libgomp reads
  // this when LibTorch loads, just below).
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  try {
    addon = require(file) as NativeAddon;
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new Error(
      `unmix: could not load the native addon ${file} built for LibTorch ${record.libtorch.version} ` +
        `(${record.libtorch.libDir}): ${reason}\nIf LibTorch moved or changed, run \`npm rebuild unmix\`.`,
    );
  }
  // The addon states the LibTorch it was compiled against: a record that names another (a build
  // folder left from another LibTorch) must not pass unnoticed.
  const compiledFor = addon.info().libtorch;
  if (compiledFor !== record.libtorch.version) {
    throw new Error(
      `unmix: the native addon ${file} was compiled against LibTorch ${compiledFor}, but build/addon.json says ` +
        `${record.libtorch.version} (${record.libtorch.libDir}). Run \`npm rebuild unmix\`.`,
    );
  }
  // Debian's LibTorch starts with one intra-op thread; use the machine's cores unless told.
  const threads = Number(process.env.UNMIX_NUM_THREADS) || os.availableParallelism();
  addon.setNumThreads(threads);
  return { addon, record };
}

const loaded = load();
export const native: NativeAddon = loaded.addon;
export const addonRecord: AddonRecord = loaded.record;
