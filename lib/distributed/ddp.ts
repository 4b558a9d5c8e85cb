// DistributedDataParallel: one model replica per rank, the same weights everywhere. Construction
// broadcasts rank 0's parameters and buffers; during backward, gradients are averaged over the ranks
// in buckets that are allreduced as soon as backward has produced them (native/ddp.cc), and
// `synchronize()` (or `backward(loss)`) waits for the rest. Gradients are identical on every rank
// after it, so the optimizer steps alike.
import { noGrad } from '../autograd';
import { cat } from '../functional';
import { scope } from '../memory';
import type { Module } from '../nn/module';
import type { Tensor } from '../tensor';
import { dist, ReducerHandle } from './binding';
import { defaultGroup } from './init';
import type { ProcessGroup } from './group';
import * as is from '../validate';

export interface DdpOptions {
  /** The default group unless given. */
  group?: ProcessGroup;
  /** Buckets after the first close at this size (torch's bucket_cap_mb, 25). */
  bucketCapMb?: number;
  /** The first bucket's size (1 MiB, as torch), so the first allreduce starts early. */
  firstBucketMb?: number;
  /**
   * Give every rank rank 0's buffers (BatchNorm's running statistics) at each synchronize(); torch
   * broadcasts them before each forward instead, so there a rank's buffers also hold its own last
   * batch. Rank 0's are the same either way.
   */
  broadcastBuffers?: boolean;
}

export class DistributedDataParallel<M extends Module = Module> {
  private sync = true;
  private constructor(
    readonly module: M,
    readonly group: ProcessGroup,
    private readonly reducer: ReducerHandle,
    /** Parameters per bucket, in launch order. */
    readonly bucketSizes: number[],
    private readonly broadcastBuffers: boolean,
  ) {}

  /** Wraps `module` (after broadcasting rank 0's parameters and buffers to every rank). */
  static async create<M extends Module>(module: M, options: DdpOptions = {}): Promise<DistributedDataParallel<M>> {
    const group = options.group ?? defaultGroup();
    is.positive('DistributedDataParallel', 'bucketCapMb', options.bucketCapMb ?? 25);
    is.positive('DistributedDataParallel', 'firstBucketMb', options.firstBucketMb ?? 1);
    const params = module.parameters().filter((p) => p.requiresGrad);
    if (params.length === 0) throw new Error('DistributedDataParallel: the module has no parameter that requires grad');
    await broadcastCoalesced(group, [...module.parameters(), ...module.buffers()]);
    const mib = 1024 * 1024;
    const { handle, bucketSizes } = dist.ddpReducer(
      group.handle,
      params,
      Math.round((options.firstBucketMb ?? 1) * mib),
      Math.round((options.bucketCapMb ?? 25) * mib),
    );
    return new DistributedDataParallel(module, group, handle, bucketSizes, options.broadcastBuffers ?? true);
  }

  /** The wrapped module's forward. */
  forward(...args: Parameters<M['forward']>): ReturnType<M['forward']> {
    return (this.module.forward as (...a: unknown[]) => ReturnType<M['forward']>)(...args);
  }

  /**
   * Waits for the gradients' allreduce (launched during backward) and leaves the average over the
   * ranks in every parameter's .grad. Call it after each backward, before the optimizer's step.
   */
  async synchronize(): Promise<void> {
    if (!this.sync) throw new Error('DistributedDataParallel.synchronize: called inside noSync()');
    await dist.ddpSynchronize(this.reducer);
    if (this.broadcastBuffers) await broadcastCoalesced(this.group, this.module.buffers());
  }

  /** loss.backward(), then synchronize(). */
  async backward(loss: Tensor): Promise<void> {
    loss.backward();
    if (this.sync) await this.synchronize();
  }

  /**
   * Runs `fn` with gradients only accumulated locally (torch's no_sync(), for gradient
   * accumulation): the next backward outside it averages all of them.
   */
  async noSync<T>(fn: () => T | Promise<T>): Promise<T> {
    this.sync = false;
    dist.ddpSetSync(this.reducer, false);
    try {
      return await fn();
    } finally {
      this.sync = true;
      dist.ddpSetSync(this.reducer, true);
    }
  }
}

/**
 * Rank 0's values of `tensors` on every rank, one broadcast per dtype and device (torch's
 * _broadcast_coalesced): a ResNet-18's 60 BatchNorm buffers one by one cost a round trip each,
 * which made 2 ranks on this 2-core machine slower than one.
 */
async function broadcastCoalesced(group: ProcessGroup, tensors: Tensor[]): Promise<void> {
  const groups = new Map<string, Tensor[]>();
  for (const t of tensors) {
    const key = `${t.dtype} ${t.device}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  for (const list of groups.values()) {
    await scope(async () => {
      const flat = noGrad(() => cat(list.map((t) => t.reshape([-1]))));
      await group.broadcast(flat, 0);
      noGrad(() => {
        let offset = 0;
        for (const t of list) {
          t.copy_(flat.narrow(0, offset, t.numel()).view(t.shape));
          offset += t.numel();
        }
      });
    });
  }
}
