// Stochastic gradient descent exactly as torch.optim.SGD (momentum, dampening, Nesterov, weight
// decay), with parameter groups that carry their own hyper-parameters.
import { noGrad } from '../autograd';
import { call } from '../dispatch';
import { keep, scope } from '../memory';
import { Tensor } from '../tensor';
import * as is from '../validate';
import { followParam, OptimizerStateDict, groupsStateDict, loadGroupsStateDict } from './state';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  /**
   * Speed option. true: LibTorch's multi-tensor (_foreach_) kernels, a handful of calls per group.
   * false: torch.optim.SGD's per-parameter loop. The same numbers either way. Default, as PyTorch 2:
   * foreach when the parameters are on CUDA (on CPU the loop is as fast or faster: `npm run bench --
   * unmix-moco-step --foreach on` against the default).
   */
  foreach?: boolean;
}

export interface ParamGroup extends Required<Omit<SGDOptions, 'foreach'>> {
  params: Tensor[];
}

export class SGD {
  readonly paramGroups: ParamGroup[];
  /** Momentum buffers, one per parameter once it has had a step. */
  readonly momentumBuffers = new Map<Tensor, Tensor>();
  readonly foreach: boolean | undefined;

  /** `params`: tensors, or groups `{ params, lr?, weightDecay?, ... }` overriding the defaults. */
  constructor(params: Tensor[] | (Partial<SGDOptions> & { params: Tensor[] })[], defaults: SGDOptions) {
    this.foreach = defaults.foreach;
    const groups =
      params.length && !(params[0] instanceof Tensor)
        ? (params as (Partial<SGDOptions> & { params: Tensor[] })[])
        : [{ params: params as Tensor[] }];
    this.paramGroups = groups.map((g) => {
      const group: ParamGroup = {
        params: g.params,
        lr: g.lr ?? defaults.lr,
        momentum: g.momentum ?? defaults.momentum ?? 0,
        dampening: g.dampening ?? defaults.dampening ?? 0,
        weightDecay: g.weightDecay ?? defaults.weightDecay ?? 0,
        nesterov: g.nesterov ?? defaults.nesterov ?? false,
      };
      // torch.optim's wording for the lr (tests assert it); NaN is refused too
      if (!(group.lr >= 0)) throw new RangeError(`SGD: invalid learning rate ${group.lr}`);
      is.nonNegative('SGD', 'momentum', group.momentum);
      is.number('SGD', 'dampening', group.dampening);
      is.nonNegative('SGD', 'weightDecay', group.weightDecay);
      is.boolean('SGD', 'nesterov', group.nesterov);
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
          const params = group.params.filter((p) => p.grad !== null);
          if (!params.length) continue;
          for (const p of params) followParam(this.momentumBuffers, p);
          if (!(this.foreach ?? params[0].device.startsWith('cuda'))) {
            for (const p of params) this.stepOne(p, group);
            continue;
          }
          const grads = params.map((p) => p.grad!);
          let d =
            group.weightDecay !== 0
              ? (call('_foreach_add.List', [grads, params], { alpha: group.weightDecay }) as Tensor[])
              : grads;
          if (group.momentum !== 0) {
            const existing = params.map((p, i) => [this.momentumBuffers.get(p), d[i]] as const).filter(([buf]) => buf);
            if (existing.length) {
              const bufs = existing.map(([buf]) => buf!);
              call('_foreach_mul_.Scalar', [bufs, group.momentum]);
              call('_foreach_add_.List', [bufs, existing.map(([, di]) => di)], { alpha: 1 - group.dampening });
            }
            params.forEach((p, i) => {
              if (!this.momentumBuffers.has(p)) this.momentumBuffers.set(p, keep(d[i].clone()));
            });
            const bufs = params.map((p) => this.momentumBuffers.get(p)!);
            d = group.nesterov ? (call('_foreach_add.List', [d, bufs], { alpha: group.momentum }) as Tensor[]) : bufs;
          }
          call('_foreach_add_.List', [params, d], { alpha: -group.lr });
        }
      }),
    );
  }

  /** torch.optim.SGD's single-tensor update of one parameter. */
  private stepOne(p: Tensor, group: ParamGroup): void {
    let d = group.weightDecay !== 0 ? p.grad!.add(p, group.weightDecay) : p.grad!;
    if (group.momentum !== 0) {
      let buf = this.momentumBuffers.get(p);
      if (!buf) {
        buf = keep(d.clone());
        this.momentumBuffers.set(p, buf);
      } else {
        buf.mul_(group.momentum).add_(d, 1 - group.dampening);
      }
      d = group.nesterov ? d.add(buf, group.momentum) : buf;
    }
    p.add_(d, -group.lr);
  }

  /** torch.optim.SGD's state_dict(): momentum buffers (`momentum_buffer`, the optimizer's own tensors) by parameter index, and the groups' hyper-parameters. */
  stateDict(): OptimizerStateDict {
    return groupsStateDict(this.paramGroups, (p) => {
      const buf = this.momentumBuffers.get(p);
      return buf ? { momentum_buffer: buf } : undefined;
    });
  }

  /** Restores stateDict()'s hyper-parameters and copies of its momentum buffers (on each parameter's device and dtype). */
  loadStateDict(sd: OptimizerStateDict): void {
    loadGroupsStateDict('SGD', this.paramGroups, sd, (p, s) => {
      this.momentumBuffers.get(p)?.dispose();
      const buf = s?.momentum_buffer;
      if (buf instanceof Tensor) this.momentumBuffers.set(p, buf);
      else this.momentumBuffers.delete(p);
    });
  }

  /** Drops the gradients of every parameter this optimizer updates. */
  zeroGrad(): void {
    for (const group of this.paramGroups) for (const p of group.params) p.grad = null;
  }
}
