// A process group (c10d's ProcessGroupGloo, or ProcessGroupNCCL where the addon has it): the
// collectives every rank calls in the same order.
// Each returns a promise that settles when this rank's part is done; tensors are changed in place.
// A peer that dies or stalls rejects the promise within the group's timeout.
import { cat } from '../functional';
import { emptyLike } from '../creation';
import { Tensor } from '../tensor';
import type { Device } from '../tensor';
import type { TensorHandle } from '../native';
import { dist, GroupHandle, NativeReduceOp, requireGloo, requireNccl } from './binding';
import { deviceCount } from '../cuda';
import { DEFAULT_TIMEOUT_MS, Store } from './store';
import * as is from '../validate';

export type ReduceOp = NativeReduceOp | 'avg';
const REDUCE_OPS: ReduceOp[] = ['sum', 'avg', 'product', 'min', 'max'];

export interface GlooOptions {
  rank: number;
  worldSize: number;
  timeoutMs?: number;
  /** The network interface to use (GLOO_SOCKET_IFNAME), e.g. 'lo' or 'eth0'. */
  interface?: string;
  /** Else the address this host's name resolves to (the default), or this host name's. */
  hostname?: string;
  /** Gloo's worker threads. */
  threads?: number;
}

export interface NcclOptions {
  rank: number;
  worldSize: number;
  timeoutMs?: number;
  /** This rank's CUDA device (`group.device`), for the library's own collectives; default rank % deviceCount(). initProcessGroup passes LOCAL_RANK. */
  device?: number;
}

export type Backend = 'gloo' | 'nccl';

/** Throws unless an NCCL group can be made here: the addon has NCCL and a CUDA device is there. */
export function requireNcclDevice(owner: string): void {
  requireNccl(owner);
  if (deviceCount() === 0)
    throw new Error(
      `${owner}: NCCL needs a CUDA device; this machine has none (torch.cuda.device_count() is 0): use the Gloo backend`,
    );
}

/** The checked rank, world size and timeout either backend joins with. */
function membership(owner: string, o: { rank: number; worldSize: number; timeoutMs?: number }) {
  const worldSize = is.intInRange(owner, 'worldSize', o.worldSize, 1, 1 << 20);
  const rank = is.intInRange(owner, 'rank', o.rank, 0, worldSize - 1);
  const timeoutMs = is.intInRange(owner, 'timeoutMs', o.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1, 2 ** 40);
  return { rank, worldSize, timeoutMs };
}

export class ProcessGroup {
  private constructor(
    readonly backend: Backend,
    /** @internal */ readonly handle: GroupHandle,
    readonly rank: number,
    readonly worldSize: number,
    readonly timeoutMs: number,
    /** Where this group's tensors live: 'cpu' (Gloo), this rank's CUDA device (NCCL). */
    readonly device: Device = 'cpu',
  ) {}

  /** Joins `worldSize` ranks through `store` (each rank connects to every other). */
  static async gloo(store: Store, options: GlooOptions): Promise<ProcessGroup> {
    requireGloo('ProcessGroup.gloo');
    const { rank, worldSize, timeoutMs } = membership('ProcessGroup.gloo', options);
    const threads = is.intInRange('ProcessGroup.gloo', 'threads', options.threads ?? 2, 1, 64);
    try {
      const handle = await dist.groupGloo(
        store.handle,
        rank,
        worldSize,
        timeoutMs,
        options.interface ?? null,
        options.hostname ?? null,
        threads,
      );
      return new ProcessGroup('gloo', handle, rank, worldSize, timeoutMs);
    } catch (e) {
      throw new Error(
        `ProcessGroup.gloo (rank ${rank} of ${worldSize}, timeout ${timeoutMs} ms): the ranks did not all join: ${(e as Error).message}`,
      );
    }
  }

  /**
   * Joins `worldSize` ranks with NCCL (c10d's ProcessGroupNCCL): collectives take CUDA tensors,
   * each rank's on its own device (cuda:localRank, as torch). Needs an addon built against a CUDA
   * LibTorch with NCCL and a CUDA device; NCCL makes its communicators at the first collective.
   * Built and linked against pip's CUDA torch, but not yet run on a GPU by unmix's tests.
   */
  static async nccl(store: Store, options: NcclOptions): Promise<ProcessGroup> {
    requireNcclDevice('ProcessGroup.nccl');
    const { rank, worldSize, timeoutMs } = membership('ProcessGroup.nccl', options);
    const devices = deviceCount();
    const device = is.intInRange('ProcessGroup.nccl', 'device', options.device ?? rank % devices, 0, devices - 1);
    try {
      const handle = await dist.groupNccl(store.handle, rank, worldSize, timeoutMs);
      return new ProcessGroup('nccl', handle, rank, worldSize, timeoutMs, `cuda:${device}` as Device);
    } catch (e) {
      throw new Error(
        `ProcessGroup.nccl (rank ${rank} of ${worldSize}, timeout ${timeoutMs} ms): ${(e as Error).message}`,
      );
    }
  }

  private tensor(op: string, t: Tensor, name = 'tensor'): Tensor {
    if (t === null || typeof t !== 'object' || typeof (t as Tensor).isContiguous !== 'function')
      throw new TypeError(`ProcessGroup.${op}: ${name} must be a Tensor, got ${String(t)}`);
    if (this.backend === 'gloo' && t.device !== 'cpu')
      throw new TypeError(`ProcessGroup.${op}: the Gloo backend takes CPU tensors, got one on ${t.device}`);
    if (this.backend === 'nccl' && !t.device.startsWith('cuda'))
      throw new TypeError(
        `ProcessGroup.${op}: the NCCL backend takes CUDA tensors, got one on ${t.device} (move it with .to('cuda:<localRank>'), or use a Gloo group)`,
      );
    if (!t.isContiguous()) throw new TypeError(`ProcessGroup.${op}: ${name} must be contiguous (call .contiguous())`);
    return t;
  }

  private async run(op: string, call: () => Promise<void>): Promise<void> {
    try {
      await call();
    } catch (e) {
      const why = (e as Error).message.replace(/\[[^\]]*\.cc:\d+\] /, '');
      throw new Error(
        `ProcessGroup.${op} (rank ${this.rank} of ${this.worldSize}, timeout ${this.timeoutMs} ms): ${why}`,
      );
    }
  }

  /** Reduces `tensor` over the ranks, in place: every rank ends with the result. */
  allReduce(tensor: Tensor, op: ReduceOp = 'sum'): Promise<void> {
    this.tensor('allReduce', tensor);
    if (!REDUCE_OPS.includes(op))
      throw new TypeError(`ProcessGroup.allReduce: op must be one of ${REDUCE_OPS.join(', ')}, got ${String(op)}`);
    // Gloo has no average: sum, then divide (as torch.distributed's ReduceOp.AVG does elsewhere;
    // the same for NCCL, which would have one, so both backends give the same numbers)
    return this.run('allReduce', async () => {
      await dist.allreduce(this.handle, tensor, op === 'avg' ? 'sum' : op);
      if (op === 'avg') tensor.div_(this.worldSize);
    });
  }

  /** Copies rank `src`'s `tensor` into every rank's, in place. */
  broadcast(tensor: Tensor, src = 0): Promise<void> {
    this.tensor('broadcast', tensor);
    is.intInRange('ProcessGroup.broadcast', 'src', src, 0, this.worldSize - 1);
    return this.run('broadcast', () => dist.broadcast(this.handle, tensor, src));
  }

  /** outputs[r] receives rank r's `input` (outputs: worldSize tensors of input's shape and dtype). */
  allGather(outputs: Tensor[], input: Tensor): Promise<void> {
    this.tensor('allGather', input, 'input');
    if (!Array.isArray(outputs) || outputs.length !== this.worldSize)
      throw new RangeError(
        `ProcessGroup.allGather: outputs must be an array of ${this.worldSize} tensors, got ${Array.isArray(outputs) ? outputs.length : typeof outputs}`,
      );
    for (const o of outputs) {
      this.tensor('allGather', o, 'outputs[i]');
      if (o.dtype !== input.dtype || o.shape.join() !== input.shape.join())
        throw new TypeError(
          `ProcessGroup.allGather: outputs must match input's shape [${input.shape}] and dtype ${input.dtype}, got [${o.shape}] ${o.dtype}`,
        );
    }
    return this.run('allGather', () => dist.allgather(this.handle, outputs, input));
  }

  /** Every rank's `input` concatenated along dim 0, in rank order (all_gather_into_tensor). */
  async allGatherCat(input: Tensor): Promise<Tensor> {
    const outputs = Array.from({ length: this.worldSize }, () => emptyLike(input.contiguous()));
    await this.allGather(outputs, input.contiguous());
    const out = cat(outputs, 0);
    for (const o of outputs) o.dispose();
    return out;
  }

  /**
   * Reduces `input` (worldSize equal chunks along dim 0) over the ranks and writes this rank's chunk
   * into `output`. Gloo on LibTorch 1.13 has no reduce_scatter (NCCL takes the same path): an allreduce of a copy, then this
   * rank's slice (the same values, more traffic).
   */
  async reduceScatter(output: Tensor, input: Tensor, op: ReduceOp = 'sum'): Promise<void> {
    this.tensor('reduceScatter', output, 'output');
    const rows = input.shape[0];
    if (rows === undefined || rows !== output.shape[0] * this.worldSize)
      throw new RangeError(
        `ProcessGroup.reduceScatter: input's dim 0 must be worldSize (${this.worldSize}) × output's (${output.shape[0]}), got ${rows}`,
      );
    const reduced = input.contiguous().clone();
    try {
      await this.allReduce(reduced, op);
      const mine = reduced.narrow(0, this.rank * output.shape[0], output.shape[0]);
      output.copy_(mine);
      mine.dispose();
    } finally {
      reduced.dispose();
    }
  }

  /**
   * Every rank's `input` along dim 0, through which gradients flow back: backward sums the
   * gradient over the ranks and keeps this rank's rows (the reference's GatherLayer, used for
   * SimCLR's negatives from every rank). With `{now: true}` it waits on this thread and returns the
   * tensor (MoCo's key gather inside its synchronous step).
   */
  allGatherWithGrad(input: Tensor, options: { now: true }): Tensor;
  allGatherWithGrad(input: Tensor, options?: { now?: false }): Promise<Tensor>;
  allGatherWithGrad(input: Tensor, options: { now?: boolean } = {}): Tensor | Promise<Tensor> {
    this.tensor('allGatherWithGrad', input.isContiguous() ? input : input.contiguous(), 'input');
    if (options.now) return this.now('allGatherWithGrad', () => dist.allGatherWithGrad(this.handle, input, true));
    let handle: TensorHandle | undefined;
    return this.run(
      'allGatherWithGrad',
      async () => void (handle = await dist.allGatherWithGrad(this.handle, input, false)),
    ).then(() => Tensor.fromHandle(handle!));
  }

  /** A collective waited for on this thread (within the timeout), its error worded as the others'. */
  private now(op: string, call: () => TensorHandle): Tensor {
    try {
      return Tensor.fromHandle(call());
    } catch (e) {
      throw new Error(
        `ProcessGroup.${op} (rank ${this.rank} of ${this.worldSize}, timeout ${this.timeoutMs} ms): ${(e as Error).message}`,
      );
    }
  }

  /**
   * The sum of every rank's `input`, as a new tensor autograd goes through (backward: the gradient
   * summed over the ranks). With `{now: true}` it waits on this thread (within the timeout) and
   * returns the tensor, for a forward that cannot await (SyncBatchNorm).
   */
  allReduceWithGrad(input: Tensor, options: { now: true }): Tensor;
  allReduceWithGrad(input: Tensor, options?: { now?: false }): Promise<Tensor>;
  allReduceWithGrad(input: Tensor, options: { now?: boolean } = {}): Tensor | Promise<Tensor> {
    this.tensor('allReduceWithGrad', input.isContiguous() ? input : input.contiguous(), 'input');
    if (options.now) return this.now('allReduceWithGrad', () => dist.allReduceWithGrad(this.handle, input, true));
    let handle: TensorHandle | undefined;
    return this.run(
      'allReduceWithGrad',
      async () => void (handle = await dist.allReduceWithGrad(this.handle, input, false)),
    ).then(() => Tensor.fromHandle(handle!));
  }

  /** Resolves when every rank has reached it. */
  barrier(): Promise<void> {
    return this.run('barrier', () => dist.barrier(this.handle));
  }
}
