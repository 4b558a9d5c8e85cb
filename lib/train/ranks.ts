// The trainer under N ranks: which group it trains over, and the small agreements that keep every
// rank's loop in step, so no rank is left waiting alone in a collective: the same start (rank 0
// checks the folder and decides whether to resume), the same logged numbers (sums over the ranks),
// the same stop (Ctrl-C or a signal reaches ranks at different steps) and the same evaluation.
import { tensor } from '../creation';
import { DistributedDataParallel, DdpOptions } from '../distributed/ddp';
import { ProcessGroup } from '../distributed/group';
import { defaultGroup, isInitialized } from '../distributed/init';
import type { Loader } from '../data/loader';
import type { Module } from '../nn/module';

/** The group to train over: the one given, else the default one; none with a single rank or `false`. */
export function trainingGroup(option: ProcessGroup | false | undefined): ProcessGroup | null {
  if (option === false) return null;
  const g = option ?? (isInitialized() ? defaultGroup() : null);
  return g && g.worldSize > 1 ? g : null;
}

export class TrainerRanks {
  constructor(readonly group: ProcessGroup) {}

  get rank(): number {
    return this.group.rank;
  }

  /** "rank r of W", for messages. */
  get where(): string {
    return `rank ${this.group.rank} of ${this.group.worldSize}`;
  }

  /** The loader must serve this rank's shard, or every rank trains on the same images. */
  checkLoader(loader: Loader): void {
    const s = loader.shard;
    if (!s || s.rank !== this.group.rank || s.worldSize !== this.group.worldSize)
      throw new Error(
        `Trainer: under ${this.group.worldSize} ranks the loader must serve this rank's shard ` +
          `(shard: {rank: ${this.group.rank}, worldSize: ${this.group.worldSize}}, or a training loader made after initProcessGroup), ` +
          `got ${s ? JSON.stringify(s) : 'an unsharded loader'}`,
      );
  }

  /** Gradients averaged over the ranks (rank 0's weights and buffers copied to all first). */
  ddp(module: Module, options: Omit<DdpOptions, 'group'> = {}): Promise<DistributedDataParallel> {
    return DistributedDataParallel.create(module, { ...options, group: this.group });
  }

  /** Element-wise sums over the ranks (float64, so counts and sums of losses stay exact enough). */
  async sum(values: number[]): Promise<number[]> {
    const host = tensor(Float64Array.from(values));
    // on the group's device: CPU for Gloo, this rank's GPU for NCCL
    const t = this.group.device === 'cpu' ? host : host.to(this.group.device);
    try {
      await this.group.allReduce(t, 'sum');
      if (t !== host) host.copy_(t);
      return Array.from(host.data() as Float64Array);
    } finally {
      if (t !== host) t.dispose();
      host.dispose();
    }
  }

  /** Rank 0's value on every rank. */
  async fromRankZero(value: number): Promise<number> {
    return (await this.sum([this.rank === 0 ? value : 0]))[0];
  }

  /** One step's numbers over all ranks: the loss and terms averaged over every rank's images, and whether any rank stops. */
  async step(
    loss: number,
    images: number,
    logs: Record<string, number>,
    stop: boolean,
  ): Promise<{ loss: number; images: number; logs: Record<string, number>; stop: boolean }> {
    const keys = Object.keys(logs);
    const [lossSum, count, stops, ...terms] = await this.sum([
      loss * images,
      images,
      stop ? 1 : 0,
      ...keys.map((k) => logs[k] * images),
    ]);
    return {
      loss: lossSum / count,
      images: count,
      logs: Object.fromEntries(keys.map((k, i) => [k, terms[i] / count])),
      stop: stops > 0,
    };
  }

  /** After an evaluation: rank 0's number, whether any rank failed, whether any rank stops. */
  async evaluation(
    acc: number | null,
    failed: boolean,
    stop: boolean,
  ): Promise<{ acc: number; failed: boolean; stop: boolean }> {
    const [a, failures, stops] = await this.sum([this.rank === 0 ? (acc ?? 0) : 0, failed ? 1 : 0, stop ? 1 : 0]);
    return { acc: a, failed: failures > 0, stop: stops > 0 };
  }
}
