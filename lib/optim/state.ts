// Optimizer state shared by SGD and Adam: per-parameter state that follows its parameter's dtype
// and device, and state dicts in torch.optim's shape (parameters named by their index across the
// groups, hyper-parameters per group).
import { noGrad } from '../autograd';
import { keep } from '../memory';
import { Device, Tensor } from '../tensor';

export type ParamState = Record<string, Tensor | number>;

/** torch.optim's `optimizer.state_dict()`: `state` by parameter index, groups with their hyper-parameters and the indices of their parameters. */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

/** A kept copy of `t` with `p`'s dtype (floating state only) and device. */
export function stateLike(t: Tensor, p: Tensor): Tensor {
  const floating = t.dtype.startsWith('float') || t.dtype === 'bfloat16';
  return keep(noGrad(() => t.to({ device: p.device as Device, dtype: floating ? p.dtype : t.dtype, copy: true })));
}

/**
 * Moves state tensors kept for `p` to its dtype and device when they differ (after module.to()).
 * PyTorch leaves optimizer state where it was (a step after a device move then fails); following
 * the parameter is what its loadStateDict does, and keeps an optimizer built before .to() working.
 */
export function followParam(states: Map<Tensor, Tensor> | Map<Tensor, ParamState>, p: Tensor): void {
  const s = states.get(p);
  if (!s) return;
  if (s instanceof Tensor) {
    if (s.dtype === p.dtype && s.device === p.device) return;
    (states as Map<Tensor, Tensor>).set(p, stateLike(s, p));
    s.dispose();
    return;
  }
  for (const [k, v] of Object.entries(s)) {
    if (!(v instanceof Tensor) || (v.dtype === p.dtype && v.device === p.device)) continue;
    s[k] = stateLike(v, p);
    v.dispose();
  }
}

/** The state dict of `groups` (tensors are the optimizer's own, as in PyTorch: copy them to keep a snapshot). */
export function groupsStateDict(
  groups: { params: Tensor[] }[],
  stateOf: (p: Tensor) => ParamState | undefined,
): OptimizerStateDict {
  const state: Record<number, ParamState> = {};
  let index = 0;
  const paramGroups = groups.map(({ params, ...hyper }) => {
    const ids = params.map((p) => {
      const s = stateOf(p);
      if (s) state[index] = { ...s };
      return index++;
    });
    return { ...hyper, params: ids };
  });
  return { state, paramGroups };
}

/**
 * Loads a state dict made by groupsStateDict: the same number of groups and of parameters per group
 * (checked before anything changes), hyper-parameters copied into the groups, state tensors copied
 * to each parameter's dtype and device (as torch.optim does) and handed to `setState`.
 */
export function loadGroupsStateDict(
  owner: string,
  groups: { params: Tensor[] }[],
  sd: OptimizerStateDict,
  setState: (p: Tensor, s: ParamState | undefined) => void,
): void {
  if (!sd || !Array.isArray(sd.paramGroups) || typeof sd.state !== 'object') {
    throw new TypeError(
      `${owner}.loadStateDict: expected {state, paramGroups} as stateDict() returns, got ${JSON.stringify(sd)?.slice(0, 80)}`,
    );
  }
  if (sd.paramGroups.length !== groups.length) {
    throw new Error(
      `${owner}.loadStateDict: the state dict has ${sd.paramGroups.length} parameter groups, the optimizer ${groups.length}`,
    );
  }
  sd.paramGroups.forEach((g, i) => {
    if (g.params.length !== groups[i].params.length) {
      throw new Error(
        `${owner}.loadStateDict: group ${i} has ${g.params.length} parameters in the state dict, ${groups[i].params.length} in the optimizer`,
      );
    }
  });
  sd.paramGroups.forEach((g, i) => {
    const { params: ids, ...hyper } = g;
    Object.assign(groups[i], hyper);
    groups[i].params.forEach((p, j) => {
      const s = sd.state[ids[j]];
      setState(
        p,
        s && Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v instanceof Tensor ? stateLike(v, p) : v])),
      );
    });
  });
}
