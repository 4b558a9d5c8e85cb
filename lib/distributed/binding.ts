// The addon's c10d entry points (native/distributed.cc). Stores and groups are opaque, type-tagged
// handles; every blocking call returns a promise that a worker thread settles.
import { native } from '../native';
import type { Tensor } from '../tensor';
import type { TensorHandle } from '../native';

export type StoreHandle = { readonly __store: unique symbol };
export type GroupHandle = { readonly __group: unique symbol };
export type ReducerHandle = { readonly __reducer: unique symbol };
export type NativeReduceOp = 'sum' | 'product' | 'min' | 'max';

export interface NativeDistributed {
  gloo: boolean;
  /** Whether the addon has c10d's NCCL group (a CUDA LibTorch with it; scripts/find-libtorch.js). */
  nccl: boolean;
  storeTcp(host: string, port: number, isServer: boolean, worldSize: number, timeoutMs: number): Promise<StoreHandle>;
  storeFile(path: string, worldSize: number): StoreHandle;
  storePrefix(store: StoreHandle, prefix: string): StoreHandle;
  storePort(store: StoreHandle): number;
  storeSet(store: StoreHandle, key: string, value: Uint8Array): Promise<void>;
  storeGet(store: StoreHandle, key: string, timeoutMs: number): Promise<Buffer>;
  storeAdd(store: StoreHandle, key: string, delta: number): Promise<number>;
  groupGloo(
    store: StoreHandle,
    rank: number,
    size: number,
    timeoutMs: number,
    iface: string | null,
    hostname: string | null,
    threads: number,
  ): Promise<GroupHandle>;
  groupNccl(store: StoreHandle, rank: number, size: number, timeoutMs: number): Promise<GroupHandle>;
  allreduce(group: GroupHandle, tensor: Tensor, op: NativeReduceOp): Promise<void>;
  broadcast(group: GroupHandle, tensor: Tensor, root: number): Promise<void>;
  allgather(group: GroupHandle, outputs: Tensor[], input: Tensor): Promise<void>;
  barrier(group: GroupHandle): Promise<void>;
  allGatherWithGrad(group: GroupHandle, x: Tensor, now: true): TensorHandle;
  allGatherWithGrad(group: GroupHandle, x: Tensor, now: false): Promise<TensorHandle>;
  allReduceWithGrad(group: GroupHandle, x: Tensor, now: true): TensorHandle;
  allReduceWithGrad(group: GroupHandle, x: Tensor, now: false): Promise<TensorHandle>;
  ddpReducer(
    group: GroupHandle,
    params: Tensor[],
    firstBucketBytes: number,
    bucketBytes: number,
  ): { handle: ReducerHandle; bucketSizes: number[] };
  ddpSetSync(reducer: ReducerHandle, sync: boolean): void;
  ddpSynchronize(reducer: ReducerHandle): Promise<void>;
}

export const dist = (native as unknown as { distributed: NativeDistributed }).distributed;

/** Throws unless the addon was built with Gloo's headers (libgloo-dev). */
export function requireGloo(owner: string): void {
  if (!dist.gloo)
    throw new Error(
      `${owner}: this unmix addon was built without Gloo's headers, so it has no process groups; ` +
        'install them (Debian: apt-get install libgloo-dev) and rebuild (npm rebuild unmix)',
    );
}

/** Throws unless the addon has c10d's NCCL group (built against a CUDA LibTorch that has it). */
export function requireNccl(owner: string): void {
  if (!dist.nccl)
    throw new Error(
      `${owner}: this unmix addon was built without NCCL (its LibTorch is a CPU-only build, or CUDA's and NCCL's ` +
        'headers were not found at build time; `unmix info` says which LibTorch it uses): use the Gloo backend, or rebuild ' +
        '(npm rebuild unmix) against a CUDA LibTorch with NCCL',
    );
}
