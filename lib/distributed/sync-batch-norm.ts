// SyncBatchNorm: batch statistics over every rank's batch, as torch.nn.SyncBatchNorm. Composed from
// plain ops around one differentiable allreduce of [sum, sum of squares, count] per forward, so it
// runs on CPU (torch's kernels for it are CUDA-only) and its backward is exactly that of BatchNorm
// over the concatenated batch. The allreduce waits on the JS thread, as torch's forward does.
import { noGrad } from '../autograd';
import { cat } from '../functional';
import { full } from '../creation';
import { BatchNorm, BatchNorm1d, BatchNorm2d, BatchNormOptions, SplitBatchNorm2d } from '../nn/layers';
import { Module } from '../nn/module';
import type { Device, Tensor } from '../tensor';
import type { ProcessGroup } from './group';
import { defaultGroup, isInitialized } from './init';

export class SyncBatchNorm extends BatchNorm {
  constructor(numFeatures: number, options: BatchNormOptions & { group?: ProcessGroup } = {}) {
    super(numFeatures, [2, 3, 4, 5], options);
    this.group = options.group;
  }
  private readonly group?: ProcessGroup;

  /**
   * torch.nn.SyncBatchNorm.convert_sync_batchnorm: every BatchNorm1d/2d in `module` (SplitBatchNorm2d,
   * the MoCo demo's emulation of per-GPU BN, is left alone) becomes a SyncBatchNorm with its options,
   * its very weight, bias and running-stat tensors (so optimizers and momentum pairs built before stay
   * valid; requiresGrad kept) and its train/eval mode, under the same names. Returns the module, or
   * its replacement when it is a BatchNorm itself.
   */
  static convertSyncBatchnorm<M extends Module>(
    module: M,
    group?: ProcessGroup,
  ): M extends BatchNorm1d | BatchNorm2d ? SyncBatchNorm : M {
    if (!(module instanceof Module))
      throw new TypeError(`SyncBatchNorm.convertSyncBatchnorm: module must be a Module, got ${String(module)}`);
    const convert = (m: Module) =>
      (m instanceof BatchNorm1d || m instanceof BatchNorm2d) && !(m instanceof SplitBatchNorm2d)
        ? SyncBatchNorm.from(m, group)
        : undefined;
    return Module.replaceModules(module, convert) as M extends BatchNorm1d | BatchNorm2d ? SyncBatchNorm : M;
  }

  private static from(bn: BatchNorm, group?: ProcessGroup): SyncBatchNorm {
    const { weight, bias, runningMean, runningVar } = bn;
    const tracked = bn.stateDict().num_batches_tracked ?? null;
    const sync = new SyncBatchNorm(bn.numFeatures, {
      eps: bn.eps,
      momentum: bn.momentum,
      affine: weight !== null,
      trackRunningStats: runningMean !== null,
      device: (weight ?? runningMean)?.device as Device | undefined,
      group,
    });
    sync.dispose(); // its fresh tensors; bn's own take their places
    for (const [name, t] of [
      ['weight', weight],
      ['bias', bias],
    ] as const) {
      const requiresGrad = t?.requiresGrad;
      sync.registerParameter(name, t);
      if (t && !requiresGrad) t.requiresGrad_(false); // registering asks for gradients
    }
    sync.registerBuffer('running_mean', runningMean);
    sync.registerBuffer('running_var', runningVar);
    sync.registerBuffer('num_batches_tracked', tracked);
    sync.training = bn.training;
    return sync;
  }

  forward(x: Tensor): Tensor {
    const group = this.group ?? (isInitialized() ? defaultGroup() : null);
    if (!this.training || !group || group.worldSize === 1) return super.forward(x);
    if (x.ndim < 2 || x.ndim > 5) throw new Error(`SyncBatchNorm: expected 2-d to 5-d input, got ${x.ndim}-d`);
    const c = this.numFeatures;
    const dims = [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2)];
    const local = x.numel() / c;
    const stats = cat([x.sum(dims), x.mul(x).sum(dims), full([1], local, { dtype: x.dtype, device: x.device })]);
    const totals = group.allReduceWithGrad(stats, { now: true });
    const count = totals.narrow(0, 2 * c, 1);
    const n = Number(count.item());
    const mean = totals.narrow(0, 0, c).div(count);
    const variance = totals.narrow(0, c, c).div(count).sub(mean.mul(mean)); // biased, as BatchNorm normalises
    const shape = [1, c, ...Array(x.ndim - 2).fill(1)];
    let y = x.sub(mean.reshape(shape)).div(variance.add(this.eps).sqrt().reshape(shape));
    if (this.weight && this.bias) y = y.mul(this.weight.reshape(shape)).add(this.bias.reshape(shape));
    noGrad(() => {
      const tracked = this.buffer('num_batches_tracked');
      if (tracked) tracked.add_(1);
      const m = this.momentum;
      this.runningMean?.mul_(1 - m).add_(mean.detach().mul(m));
      this.runningVar?.mul_(1 - m).add_(variance.detach().mul((m * n) / Math.max(n - 1, 1)));
    });
    return y;
  }
}
