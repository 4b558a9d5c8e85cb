// Layer-wise adaptive rate control around SGD, with apex's LARC semantics (used by SwAV) and the
// LARS option of excluding biases and norm parameters (1-d tensors) from adaptation.
import { noGrad } from '../autograd';
import { scope } from '../memory';
import * as is from '../validate';
import { SGD } from './sgd';
import type { OptimizerStateDict } from './state';

export interface LARCOptions {
  /** η: apex's default 0.02; SwAV CIFAR uses 0.001. */
  trustCoefficient?: number;
  /** Clip the adaptive rate at the group's lr (apex default true; SwAV uses false). */
  clip?: boolean;
  eps?: number;
  /** Leave 1-d parameters (biases, norm γ/β) unadapted, as LARS implementations offer. */
  excludeBiasAndNorm?: boolean;
}

export class LARC {
  readonly trustCoefficient: number;
  readonly clip: boolean;
  readonly eps: number;
  readonly excludeBiasAndNorm: boolean;

  constructor(
    readonly optimizer: SGD,
    options: LARCOptions = {},
  ) {
    this.trustCoefficient = options.trustCoefficient ?? 0.02;
    this.clip = options.clip ?? true;
    this.eps = options.eps ?? 1e-8;
    this.excludeBiasAndNorm = options.excludeBiasAndNorm ?? false;
    is.positive('LARC', 'trustCoefficient', this.trustCoefficient);
    is.boolean('LARC', 'clip', this.clip);
    is.nonNegative('LARC', 'eps', this.eps);
    is.boolean('LARC', 'excludeBiasAndNorm', this.excludeBiasAndNorm);
  }

  get paramGroups() {
    return this.optimizer.paramGroups;
  }

  /** The wrapped SGD's state dict (LARC itself keeps no state). */
  stateDict(): OptimizerStateDict {
    return this.optimizer.stateDict();
  }
  loadStateDict(sd: OptimizerStateDict): void {
    this.optimizer.loadStateDict(sd);
  }

  /**
   * For each parameter with a gradient and non-zero ‖w‖ and ‖g‖:
   * a = η‖w‖/(‖g‖ + wd‖w‖ + eps) (clipped: min(a/lr, 1)); g ← (g + wd·w)·a. Then an SGD step with
   * weight decay 0, so a parameter skipped for a zero norm gets no weight decay (as in apex).
   */
  step(): void {
    const decays = this.optimizer.paramGroups.map((g) => g.weightDecay);
    noGrad(() =>
      scope(() => {
        for (const group of this.optimizer.paramGroups) {
          for (const p of group.params) {
            const grad = p.grad;
            if (!grad || (this.excludeBiasAndNorm && p.ndim === 1)) continue;
            const wNorm = p.norm().item();
            const gNorm = grad.norm().item();
            if (wNorm === 0 || gNorm === 0) continue;
            let rate = (this.trustCoefficient * wNorm) / (gNorm + group.weightDecay * wNorm + this.eps);
            if (this.clip) rate = Math.min(rate / group.lr, 1);
            grad.add_(p, group.weightDecay).mul_(rate);
          }
        }
      }),
    );
    try {
      for (const g of this.optimizer.paramGroups) g.weightDecay = 0;
      this.optimizer.step();
    } finally {
      this.optimizer.paramGroups.forEach((g, i) => (g.weightDecay = decays[i]));
    }
  }

  zeroGrad(): void {
    this.optimizer.zeroGrad();
  }
}
