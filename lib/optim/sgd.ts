// Stochastic gradient descent exactly as torch.optim.SGD (momentum, dampening, Nesterov, weight
// decay), with parameter groups that carry their own hyper-parameters.
import { noGrad } from '../autograd';
import { keep, scope } from '../memory';
import { Tensor } from '../tensor';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export interface ParamGroup extends Required<SGDOptions> {
  params: Tensor[];
}

export class SGD {
  readonly paramGroups: ParamGroup[];
  /** Momentum buffers, one per parameter once it has had a step. */
  readonly momentumBuffers = new Map<Tensor, Tensor>();

  /** `params`: tensors, or groups `{ params, lr?, weightDecay?, ... }` overriding the defaults. */
  constructor(params: Tensor[] | (Partial<SGDOptions> & { params: Tensor[] })[], defaults: SGDOptions) {
    const groups = params.length && !(params[0] instanceof Tensor) ? (params as (Partial<SGDOptions> & { params: Tensor[] })[]) : [{ params: params as Tensor[] }];
    this.paramGroups = groups.map((g) => {
      const group: ParamGroup = {
        params: g.params,
        lr: g.lr ?? defaults.lr,
        momentum: g.momentum ?? defaults.momentum ?? 0,
        dampening: g.dampening ?? defaults.dampening ?? 0,
        weightDecay: g.weightDecay ?? defaults.weightDecay ?? 0,
        nesterov: g.nesterov ?? defaults.nesterov ?? false,
      };
      if (group.lr < 0) throw new RangeError(`SGD: invalid learning rate ${group.lr}`);
      if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0)) {
        throw new RangeError('SGD: Nesterov momentum requires a momentum and zero dampening');
      }
      return group;
    });
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    noGrad(() =>
      scope(() => {
        for (const group of this.paramGroups) {
          for (const p of group.params) {
            const grad = p.grad;
            if (!grad) continue;
            let d = group.weightDecay !== 0 ? grad.add(p, group.weightDecay) : grad;
            if (group.momentum !== 0) {
              let buf = this.momentumBuffers.get(p);
              if (!buf) {
                buf = keep(d.clone().detach());
                this.momentumBuffers.set(p, buf);
              } else {
                buf.mul_(group.momentum).add_(d, 1 - group.dampening);
              }
              d = group.nesterov ? d.add(buf, group.momentum) : buf;
            }
            p.add_(d, -group.lr);
          }
        }
      }),
    );
  }

  /** Drops the gradients of every parameter this optimizer updates. */
  zeroGrad(): void {
    for (const group of this.paramGroups) for (const p of group.params) p.grad = null;
  }
}
