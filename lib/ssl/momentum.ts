// The momentum (EMA) encoder of MoCo's key encoder and BYOL's target: a frozen copy of online
// modules, moved towards them after each step as θt ← m·θt + (1 − m)·θo. Only parameters follow the
// online side; the target's buffers (BN statistics) stay its own, as in both references.
import { noGrad } from '../autograd';
import { call } from '../dispatch';
import { Module } from '../nn/module';
import { Tensor } from '../tensor';

/** Pairs of (online, target) modules of one shape. */
export type MomentumPairs = readonly (readonly [Module, Module])[];

function flatten(pairs: MomentumPairs): [Tensor[], Tensor[]] {
  return [pairs.flatMap(([online]) => online.parameters()), pairs.flatMap(([, target]) => target.parameters())];
}

/** The targets start as copies of the online parameters and are never trained (initialize_momentum_params). */
export function initMomentum(pairs: MomentumPairs): void {
  const [online, target] = flatten(pairs);
  noGrad(() => target.forEach((t, i) => t.copy_(online[i])));
  for (const [, t] of pairs) t.requiresGrad_(false);
}

/**
 * θt ← m·θt + (1 − m)·θo. foreach: two multi-tensor (_foreach_) calls, by default on CUDA (as SGD);
 * otherwise the references' per-parameter loop. Both are the same elementwise ops: bit-identical results.
 */
export function momentumUpdate(pairs: MomentumPairs, m: number, foreach?: boolean): void {
  const [online, target] = flatten(pairs);
  noGrad(() => {
    if (!(foreach ?? target[0].device.startsWith('cuda'))) {
      target.forEach((t, i) => t.mul_(m).add_(online[i], 1 - m));
      return;
    }
    call('_foreach_mul_.Scalar', [target, m]);
    call('_foreach_add_.List', [target, online], { alpha: 1 - m });
  });
}
