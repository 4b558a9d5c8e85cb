// Learning-rate scheduler objects as torch.optim.lr_scheduler (the pure functions of the epoch are
// in schedules.ts): built on an optimizer, they set every group's lr to epoch 0's value, and each
// step() moves one epoch on. The lr is the closed form of the epoch (PyTorch's step() computes the
// same values recursively, equal up to rounding), so resuming needs only `lastEpoch`.
import * as is from '../validate';

/** What a scheduler drives: anything with torch.optim-style parameter groups (SGD, Adam, LARC). */
export interface HasParamGroups {
  paramGroups: { lr: number; initialLr?: number }[];
}

export abstract class LRScheduler {
  /** The epoch of the current lr (0 after construction, as PyTorch's last_epoch). */
  lastEpoch = -1;
  /** Each group's lr when the scheduler was made (PyTorch's initial_lr). */
  readonly baseLrs: number[];
  private lastLr: number[] = [];

  constructor(
    readonly optimizer: HasParamGroups,
    lastEpoch = -1,
  ) {
    if (!optimizer || !Array.isArray(optimizer.paramGroups))
      throw new TypeError(`${this.constructor.name}: expected an optimizer with paramGroups, got ${String(optimizer)}`);
    if (is.integer(this.constructor.name, 'lastEpoch', lastEpoch) < -1)
      throw new RangeError(
        `${this.constructor.name}: lastEpoch must be -1 (a new schedule) or an epoch >= 0, got ${lastEpoch}`,
      );
    if (lastEpoch === -1) for (const g of optimizer.paramGroups) g.initialLr = g.lr;
    this.baseLrs = optimizer.paramGroups.map((g, i) => {
      if (g.initialLr === undefined)
        throw new Error(
          `${this.constructor.name}: resuming (lastEpoch ${lastEpoch}) needs initialLr in parameter group ${i}`,
        );
      return g.initialLr;
    });
    this.lastEpoch = lastEpoch;
  }

  /** The lr of each group at `epoch`. */
  protected abstract lrAt(epoch: number): number[];

  /** Moves one epoch on and sets every group's lr. */
  step(): void {
    this.lastEpoch += 1;
    this.lastLr = this.lrAt(this.lastEpoch);
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = this.lastLr[i]));
  }

  /** The lrs the last step() set, one per group (get_last_lr()). */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): { lastEpoch: number; baseLrs: number[]; lastLr: number[] } {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs], lastLr: [...this.lastLr] };
  }
  loadStateDict(state: { lastEpoch: number; baseLrs: number[]; lastLr?: number[] }): void {
    if (
      !Number.isInteger(state?.lastEpoch) ||
      !Array.isArray(state.baseLrs) ||
      state.baseLrs.length !== this.baseLrs.length
    ) {
      throw new Error(
        `${this.constructor.name}.loadStateDict: expected {lastEpoch, baseLrs} with ${this.baseLrs.length} lrs, got ${JSON.stringify(state)?.slice(0, 80)}`,
      );
    }
    this.lastEpoch = state.lastEpoch;
    this.baseLrs.splice(0, this.baseLrs.length, ...state.baseLrs);
    this.lastLr = state.lastLr ? [...state.lastLr] : this.lrAt(this.lastEpoch);
  }
}

/** lr = base · gamma^⌊epoch / stepSize⌋. */
export class StepLR extends LRScheduler {
  constructor(
    optimizer: HasParamGroups,
    readonly stepSize: number,
    readonly options: { gamma?: number; lastEpoch?: number } = {},
  ) {
    super(optimizer, options.lastEpoch);
    is.positiveInt('StepLR', 'stepSize', stepSize);
    if (options.gamma !== undefined) is.nonNegative('StepLR', 'gamma', options.gamma);
    this.step();
  }
  protected lrAt(epoch: number): number[] {
    return this.baseLrs.map((b) => b * (this.options.gamma ?? 0.1) ** Math.floor(epoch / this.stepSize));
  }
}

/** lr = base · gamma^(number of milestones ≤ epoch). */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  constructor(
    optimizer: HasParamGroups,
    milestones: number[],
    readonly options: { gamma?: number; lastEpoch?: number } = {},
  ) {
    super(optimizer, options.lastEpoch);
    milestones.forEach((m, i) => is.integer('MultiStepLR', `milestones[${i}]`, m));
    if (options.gamma !== undefined) is.nonNegative('MultiStepLR', 'gamma', options.gamma);
    this.milestones = [...milestones].sort((a, b) => a - b);
    this.step();
  }
  protected lrAt(epoch: number): number[] {
    const passed = this.milestones.filter((m) => m <= epoch).length;
    return this.baseLrs.map((b) => b * (this.options.gamma ?? 0.1) ** passed);
  }
}

/** lr = etaMin + (base − etaMin)(1 + cos(π·epoch / tMax)) / 2. */
export class CosineAnnealingLR extends LRScheduler {
  constructor(
    optimizer: HasParamGroups,
    readonly tMax: number,
    readonly options: { etaMin?: number; lastEpoch?: number } = {},
  ) {
    super(optimizer, options.lastEpoch);
    is.positiveInt('CosineAnnealingLR', 'tMax', tMax);
    if (options.etaMin !== undefined) is.nonNegative('CosineAnnealingLR', 'etaMin', options.etaMin);
    this.step();
  }
  protected lrAt(epoch: number): number[] {
    const etaMin = this.options.etaMin ?? 0;
    return this.baseLrs.map((b) => etaMin + ((b - etaMin) * (1 + Math.cos((Math.PI * epoch) / this.tMax))) / 2);
  }
}

/** lr = base · lambda(epoch), one lambda for all groups or one per group. */
export class LambdaLR extends LRScheduler {
  private readonly lambdas: ((epoch: number) => number)[];
  constructor(
    optimizer: HasParamGroups,
    lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[],
    options: { lastEpoch?: number } = {},
  ) {
    super(optimizer, options.lastEpoch);
    const n = optimizer.paramGroups.length;
    this.lambdas = Array.isArray(lrLambda) ? lrLambda : Array.from({ length: n }, () => lrLambda);
    if (this.lambdas.length !== n)
      throw new RangeError(`LambdaLR: expected ${n} lambdas (one per group), got ${this.lambdas.length}`);
    this.step();
  }
  protected lrAt(epoch: number): number[] {
    return this.baseLrs.map((b, i) => b * this.lambdas[i](epoch));
  }
}
