// Adam and AdamW as torch.optim's single-tensor updates (bias-corrected moments, L2 weight decay
// added to the gradient for Adam, decoupled decay of the weights for AdamW, optional AMSGrad).
import { noGrad } from '../autograd';
import { call } from '../dispatch';
import { zerosLike } from '../creation';
import { keep, scope } from '../memory';
import { Tensor } from '../tensor';
import * as is from '../validate';
import { followParam, groupsStateDict, loadGroupsStateDict, OptimizerStateDict, ParamState } from './state';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
}

export interface AdamParamGroup extends Required<AdamOptions> {
  params: Tensor[];
}

export class Adam {
  readonly paramGroups: AdamParamGroup[];
  /** Per parameter once it has had a step: `step` (a number), `exp_avg`, `exp_avg_sq` and, with AMSGrad, `max_exp_avg_sq`. */
  readonly state = new Map<Tensor, ParamState>();
  protected readonly decoupled: boolean = false;

  /** `params`: tensors, or groups `{ params, lr?, betas?, ... }` overriding the defaults (lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0 for Adam, 1e-2 for AdamW). */
  constructor(params: Tensor[] | (AdamOptions & { params: Tensor[] })[], defaults: AdamOptions = {}) {
    const name = this.constructor.name;
    const groups =
      params.length && !(params[0] instanceof Tensor)
        ? (params as (AdamOptions & { params: Tensor[] })[])
        : [{ params: params as Tensor[] }];
    this.paramGroups = groups.map((g) => {
      const group: AdamParamGroup = {
        params: g.params,
        lr: g.lr ?? defaults.lr ?? 1e-3,
        betas: g.betas ?? defaults.betas ?? [0.9, 0.999],
        eps: g.eps ?? defaults.eps ?? 1e-8,
        weightDecay: g.weightDecay ?? defaults.weightDecay ?? this.defaultWeightDecay(),
        amsgrad: g.amsgrad ?? defaults.amsgrad ?? false,
      };
      is.nonNegative(name, 'lr', group.lr);
      is.nonNegative(name, 'eps', group.eps);
      if (!Array.isArray(group.betas) || group.betas.length !== 2)
        throw new TypeError(`${name}: betas must be two numbers, got ${is.shown(group.betas)}`);
      group.betas.forEach((b, i) => is.inRange(name, `betas[${i}]`, b, 0, 1, { hiOpen: true }));
      is.nonNegative(name, 'weightDecay', group.weightDecay);
      is.boolean(name, 'amsgrad', group.amsgrad);
      return group;
    });
  }

  protected defaultWeightDecay(): number {
    return 0;
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    noGrad(() =>
      scope(() => {
        for (const group of this.paramGroups) {
          for (const p of group.params) {
            const grad = p.grad;
            if (grad) this.stepOne(p, grad, group);
          }
        }
      }),
    );
  }

  private stepOne(p: Tensor, grad: Tensor, group: AdamParamGroup): void {
    const [beta1, beta2] = group.betas;
    followParam(this.state, p);
    let s = this.state.get(p);
    if (!s) {
      s = { step: 0, exp_avg: keep(zerosLike(p)), exp_avg_sq: keep(zerosLike(p)) };
      if (group.amsgrad) s.max_exp_avg_sq = keep(zerosLike(p));
      this.state.set(p, s);
    }
    const step = (s.step as number) + 1;
    s.step = step;
    if (group.weightDecay !== 0) {
      if (this.decoupled) p.mul_(1 - group.lr * group.weightDecay);
      else grad = grad.add(p, group.weightDecay);
    }
    const expAvg = s.exp_avg as Tensor;
    const expAvgSq = s.exp_avg_sq as Tensor;
    call('lerp_.Scalar', [expAvg, grad, 1 - beta1]);
    call('addcmul_', [expAvgSq.mul_(beta2), grad, grad], { value: 1 - beta2 });
    const stepSize = group.lr / (1 - beta1 ** step);
    const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
    let second = expAvgSq;
    if (group.amsgrad) {
      if (!(s.max_exp_avg_sq instanceof Tensor)) s.max_exp_avg_sq = keep(zerosLike(p)); // amsgrad switched on later
      second = s.max_exp_avg_sq as Tensor;
      second.copy_(call('maximum', [second, expAvgSq]) as Tensor);
    }
    const denom = second.sqrt().div_(bc2Sqrt).add_(group.eps);
    call('addcdiv_', [p, expAvg, denom], { value: -stepSize });
  }

  /** torch.optim's state_dict(): per-parameter state (the optimizer's own tensors) by index, and the groups' hyper-parameters. */
  stateDict(): OptimizerStateDict {
    return groupsStateDict(this.paramGroups, (p) => this.state.get(p));
  }

  /** Restores stateDict()'s hyper-parameters and copies of its state (on each parameter's device and dtype). */
  loadStateDict(sd: OptimizerStateDict): void {
    for (const [i, s] of Object.entries(sd?.state ?? {})) {
      if (!(
        (typeof s.step === 'number' || s.step instanceof Tensor) &&
        s.exp_avg instanceof Tensor &&
        s.exp_avg_sq instanceof Tensor
      )) {
        throw new Error(
          `${this.constructor.name}.loadStateDict: the state of parameter ${i} needs step, exp_avg and exp_avg_sq, got ${Object.keys(s).join(', ') || 'nothing'}`,
        );
      }
    }
    loadGroupsStateDict(this.constructor.name, this.paramGroups, sd, (p, s) => {
      for (const v of Object.values(this.state.get(p) ?? {})) if (v instanceof Tensor) v.dispose();
      if (s?.step instanceof Tensor) {
        // torch.optim keeps the step count as a tensor: a number here
        const step = s.step;
        s.step = step.item();
        step.dispose();
      }
      if (s) this.state.set(p, s);
      else this.state.delete(p);
    });
  }

  /** Drops the gradients of every parameter this optimizer updates. */
  zeroGrad(): void {
    for (const group of this.paramGroups) for (const p of group.params) p.grad = null;
  }
}

/** AdamW: Adam with decoupled weight decay (w ← w·(1 − lr·wd) before the update; default wd 1e-2), as torch.optim.AdamW. */
export class AdamW extends Adam {
  protected readonly decoupled: boolean = true;
  protected defaultWeightDecay(): number {
    return 1e-2;
  }
}
