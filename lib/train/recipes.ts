// The reference recipes' optimizers and lr schedules, as the examples use them (they only parse flags):
// MoCo's per-epoch cosine or step (adjust_learning_rate) and SwAV's SGD inside LARC with the
// per-iteration warmup + cosine. Each is written with lib/optim/schedules.ts, so the lrs are the ones
// the examples computed before (bit for bit).
import type { Tensor } from '../tensor';
import { LARC } from '../optim/larc';
import { cosineLr, stepLr, warmupCosineLr } from '../optim/schedules';
import { SGD } from '../optim/sgd';
import * as is from '../validate';

export interface MoCoLrOptions {
  lr: number;
  epochs: number;
  /** cosine to 0 over `epochs`; else ×0.1 at each of `milestones` */
  cos: boolean;
  milestones: number[];
  /**
   * The epoch the formula sees for the trainer's first (0-based) epoch: the MoCo CIFAR demo calls
   * adjust_learning_rate with 1-indexed epochs (1), main_moco.py with 0-indexed ones (0).
   */
  firstEpoch: 0 | 1;
}

/** MoCo's adjust_learning_rate as a trainer `lr` hook. */
export function mocoLr(o: MoCoLrOptions): (at: { epoch: number }) => number {
  is.oneOf('mocoLr', 'firstEpoch', o.firstEpoch, [0, 1]);
  const f = o.cos ? cosineLr(o.lr, o.epochs) : stepLr(o.lr, o.milestones);
  return ({ epoch }) => f(epoch + o.firstEpoch);
}

export interface SwavOptimizerOptions {
  baseLr: number;
  finalLr: number;
  startWarmup: number;
  warmupEpochs: number;
  epochs: number;
  itersPerEpoch: number;
  weightDecay: number;
}

/**
 * SwAV's optimizer (main_swav.py): SGD with momentum 0.9 inside LARC (trust coefficient 0.001, no
 * clipping), weight decay inside, and its per-iteration warmup + cosine as a trainer `lr` hook (the
 * last value held past the schedule's end).
 */
export function swavOptimizer(
  params: Tensor[],
  o: SwavOptimizerOptions,
): { optimizer: LARC; lr: (at: { iteration: number }) => number } {
  const optimizer = new LARC(new SGD(params, { lr: o.baseLr, momentum: 0.9, weightDecay: o.weightDecay }), {
    trustCoefficient: 0.001,
    clip: false,
  });
  const schedule = warmupCosineLr({
    baseLr: o.baseLr,
    finalLr: o.finalLr,
    startWarmup: o.startWarmup,
    warmupEpochs: o.warmupEpochs,
    epochs: o.epochs,
    itersPerEpoch: o.itersPerEpoch,
  });
  return { optimizer, lr: ({ iteration }) => schedule[Math.min(iteration, schedule.length - 1)] };
}
