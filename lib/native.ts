// Loads the native addon chosen at install time (build/addon.json) and types its surface.
// Everything else in lib/ goes through this module; nothing outside lib/ should touch it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Opaque owner of one at::Tensor on the native side. */
export interface TensorHandle {
  dispose(): void;
  isDisposed(): boolean;
  /** [shape, strides, dtype, device, requiresGrad, isLeaf] */
  meta(): [number[], number[], string, string, boolean, boolean];
}

export interface GeneratorHandle {
  manualSeed(seed: number | bigint): GeneratorHandle;
  initialSeed(): bigint;
  getState(): TensorHandle;
  setState(state: TensorHandle): void;
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

export interface LiveTensorStats {
  count: number;
  bytes: number;
  devices: Record<string, { bytes: number; peakBytes: number }>;
}

export type NativeValue = TensorHandle | NativeValue[] | number | boolean | string | null | undefined;

export interface NativeAddon {
  TensorHandle: new () => TensorHandle;
  Generator: new (device?: string) => GeneratorHandle;
  resolveOp(name: string): number;
  callOp(id: number, args: unknown[], kwargs?: Record<string, unknown>): NativeValue;
  opSchemas(name: string): string[];
  listOps(): string[];
  fromBuffer(data: ArrayBufferView, sourceDtype: string, shape: number[], dtype: string, device: string): TensorHandle;
  toBuffer(tensor: TensorHandle, raw?: boolean): ArrayBuffer;
  toBufferAsync(tensor: TensorHandle): Promise<ArrayBuffer>;
  item(tensor: TensorHandle): number | boolean;
  isContiguous(tensor: TensorHandle, memoryFormat?: string): boolean;
  index(tensor: TensorHandle, indices: unknown[]): TensorHandle;
  indexPut(tensor: TensorHandle, indices: unknown[], value: TensorHandle | number | boolean): void;
  backward(tensors: TensorHandle[], grads: (TensorHandle | null)[] | null, retainGraph?: boolean, createGraph?: boolean): void;
  autogradGrad(
    outputs: TensorHandle[],
    inputs: TensorHandle[],
    gradOutputs: (TensorHandle | null)[] | null,
    retainGraph: boolean | undefined,
    createGraph: boolean,
    allowUnused: boolean,
  ): (TensorHandle | null)[];
  getGrad(tensor: TensorHandle): TensorHandle | null;
  setGrad(tensor: TensorHandle, grad: TensorHandle | null): void;
  setRequiresGrad(tensor: TensorHandle, requiresGrad: boolean): void;
  isGradEnabled(): boolean;
  setGradEnabled(enabled: boolean): void;
  info(): NativeInfo;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number | bigint): void;
  getRngState(device?: string): TensorHandle;
  setRngState(state: TensorHandle, device?: string): void;
  cudaSynchronize(device?: number): void;
  cudaMemInfo(device?: number): { free: number; total: number };
  liveTensors(): LiveTensorStats;
  resetPeakMemory(): void;
}

/** What build/addon.json records: which addon file and which LibTorch it was made for. */
export interface AddonRecord {
  addon: string;
  source: 'env' | 'python' | 'system' | 'prebuilt';
  libtorch: { version: string; source: string; libDir: string; cuda: boolean; torchDir: string };
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
  // Debian's LibTorch starts with one intra-op thread; use the machine's cores unless told.
  const threads = Number(process.env.UNMIX_NUM_THREADS) || os.availableParallelism();
  addon.setNumThreads(threads);
  return { addon, record };
}

const loaded = load();
export const native: NativeAddon = loaded.addon;
export const addonRecord: AddonRecord = loaded.record;
