// Learning-rate and momentum schedules, as pure functions of the epoch or iteration (their
// only state is the step counter, which checkpoints keep), in the reference code's exact forms.
import type { SGD } from './sgd';

/** lr × gamma^(number of milestones ≤ epoch), as MultiStepLR. */
export function stepLr(baseLr: number, milestones: number[], gamma = 0.1): (epoch: number) => number {
  return (epoch) => baseLr * gamma ** milestones.filter((m) => m <= epoch).length;
}

/**
 * Per-epoch cosine without warmup, as the MoCo CIFAR demo: lr(e) = base·½(1 + cos(π·e/epochs)),
 * called with 1-indexed epochs there (so the first epoch already has a slightly reduced lr and the
 * last has 0).
 */
export function cosineLr(baseLr: number, epochs: number): (epoch: number) => number {
  return (epoch) => baseLr * 0.5 * (1 + Math.cos((Math.PI * epoch) / epochs));
}

export interface WarmupCosineOptions {
  baseLr: number;
  finalLr?: number;
  startWarmup?: number;
  warmupEpochs: number;
  epochs: number;
  itersPerEpoch: number;
}

/**
 * SwAV's per-iteration schedule: np.linspace(startWarmup, baseLr, itersPerEpoch·warmupEpochs)
 * (both ends included), then cosine from baseLr to finalLr over the remaining iterations.
 */
export function warmupCosineLr(options: WarmupCosineOptions): Float64Array {
  const { baseLr, finalLr = 0, startWarmup = 0, warmupEpochs, epochs, itersPerEpoch } = options;
  const warmup = itersPerEpoch * warmupEpochs;
  const cosine = itersPerEpoch * (epochs - warmupEpochs);
  const out = new Float64Array(warmup + cosine);
  for (let i = 0; i < warmup; i++)
    out[i] = warmup === 1 ? startWarmup : startWarmup + ((baseLr - startWarmup) * i) / (warmup - 1);
  for (let t = 0; t < cosine; t++)
    out[warmup + t] = finalLr + 0.5 * (baseLr - finalLr) * (1 + Math.cos((Math.PI * t) / cosine));
  return out;
}

/** BYOL's target-network momentum: τ_k = 1 − (1 − τ_base)·(cos(πk/K) + 1)/2, rising to 1. */
export function cosineMomentum(baseMomentum: number, totalSteps: number): (step: number) => number {
  return (step) => 1 - ((1 - baseMomentum) * (Math.cos((Math.PI * step) / totalSteps) + 1)) / 2;
}

/** Sets the learning rate of every parameter group. */
export function setLr(optimizer: SGD, lr: number): void {
  for (const group of optimizer.paramGroups) group.lr = lr;
}
