// A whole training state in one safetensors file: modules, optimizers (hyper-parameters and
// momentum buffers), extra tensors (a queue), epoch, step, RNG states and JSON metadata.
// Written atomically, so an interrupted save leaves the previous checkpoint intact.
import { keep } from '../memory';
import { Module } from '../nn/module';
import { LARC } from '../optim/larc';
import { SGD } from '../optim/sgd';
import { getRngState, setRngState } from '../random';
import * as cuda from '../cuda';
import { Device, Tensor } from '../tensor';
import { loadSafetensors, saveSafetensors } from './safetensors';
import * as is from '../validate';

type Optimizer = SGD | LARC;

export interface TrainingState {
  modules?: Record<string, Module>;
  optimizers?: Record<string, Optimizer>;
  /** Any other tensors to keep, e.g. a MoCo queue. */
  tensors?: Record<string, Tensor>;
  epoch?: number;
  step?: number;
  /** JSON-serialisable information (arguments, results so far). */
  metadata?: unknown;
  /** store a SHA-256 of the tensor data, verified on load (the trainer's checkpoints do) */
  checksum?: boolean;
}

const FORMAT = 'unmix-checkpoint/1';

/** A tensor on `device` that outlives the loaded file's tensors (to() returns its input when nothing changes). */
function ownCopy(t: Tensor, device: Device): Tensor {
  const moved = t.to(device);
  return moved === t ? t.clone() : moved;
}

function sgdOf(o: Optimizer): SGD {
  return o instanceof LARC ? o.optimizer : o;
}

/** Saves everything in `state`, plus the CPU and CUDA random-number generator states. */
export function saveCheckpoint(file: string, state: TrainingState): void {
  is.nonEmptyString('saveCheckpoint', 'file', file);
  // JSON would write NaN as null, which a resume reads as "no position"
  if (state.epoch !== undefined) is.nonNegativeInt('saveCheckpoint', 'epoch', state.epoch);
  if (state.step !== undefined) is.nonNegativeInt('saveCheckpoint', 'step', state.step);
  const tensors: Record<string, Tensor> = {};
  const owned: Tensor[] = [];
  for (const [name, module] of Object.entries(state.modules ?? {})) {
    for (const [key, t] of Object.entries(module.stateDict())) tensors[`modules.${name}.${key}`] = t;
  }
  const optimizers: Record<string, unknown> = {};
  for (const [name, opt] of Object.entries(state.optimizers ?? {})) {
    const sgd = sgdOf(opt);
    optimizers[name] = sgd.paramGroups.map(({ params, ...hyper }) => ({ ...hyper, params: params.length }));
    sgd.paramGroups.forEach((group, g) =>
      group.params.forEach((p, i) => {
        const buf = sgd.momentumBuffers.get(p);
        if (buf) tensors[`optimizers.${name}.${g}.${i}.momentum_buffer`] = buf;
      }),
    );
  }
  for (const [name, t] of Object.entries(state.tensors ?? {})) tensors[`tensors.${name}`] = t;
  owned.push((tensors['rng.cpu'] = getRngState('cpu')));
  for (let d = 0; d < (cuda.isAvailable() ? cuda.deviceCount() : 0); d++)
    owned.push((tensors[`rng.cuda:${d}`] = getRngState(`cuda:${d}`)));
  const info = {
    format: FORMAT,
    epoch: state.epoch ?? null,
    step: state.step ?? null,
    optimizers,
    metadata: state.metadata ?? null,
  };
  try {
    saveSafetensors(file, tensors, { unmix: JSON.stringify(info) }, { checksum: state.checksum });
  } finally {
    owned.forEach((t) => t.dispose());
  }
}

export interface LoadedCheckpoint {
  epoch: number | null;
  step: number | null;
  metadata: unknown;
  /** The extra tensors saved under `tensors` (kept: the caller owns them). */
  tensors: Record<string, Tensor>;
}

/**
 * Restores a checkpoint into the given modules and optimizers (same names as when saved; module
 * state dicts load strictly), sets the RNG states, and returns the rest. Nothing is changed when
 * the file is not a checkpoint or a module does not match.
 */
export function loadCheckpoint(
  file: string,
  into: { modules?: Record<string, Module>; optimizers?: Record<string, Optimizer> } = {},
  options: { device?: Device; restoreRng?: boolean } = {},
): LoadedCheckpoint {
  const { tensors, metadata } = loadSafetensors(file, { device: 'cpu' });
  const dispose = () => Object.values(tensors).forEach((t) => t.dispose());
  let info: {
    format?: string;
    epoch: number | null;
    step: number | null;
    optimizers: Record<string, { params: number }[]>;
    metadata: unknown;
  };
  try {
    info = JSON.parse(metadata.unmix ?? '{}');
  } catch {
    info = { epoch: null, step: null, optimizers: {}, metadata: null };
  }
  if (info.format !== FORMAT) {
    dispose();
    throw new Error(
      `${file}: not an unmix checkpoint (no '${FORMAT}' metadata); use loadSafetensors for plain tensor files`,
    );
  }
  const section = (prefix: string) =>
    Object.fromEntries(
      Object.entries(tensors)
        .filter(([k]) => k.startsWith(prefix))
        .map(([k, t]) => [k.slice(prefix.length), t]),
    );
  try {
    // Check everything first, so a mismatch changes nothing.
    for (const [name, module] of Object.entries(into.modules ?? {})) {
      if (!Object.keys(tensors).some((k) => k.startsWith(`modules.${name}.`)))
        throw new Error(`${file}: no module '${name}' in the checkpoint`);
      const { error } = module.checkStateDict(section(`modules.${name}.`));
      if (error) throw new Error(`${file}: module '${name}' does not match: ${error}`);
    }
    for (const [name, opt] of Object.entries(into.optimizers ?? {})) {
      const saved = info.optimizers[name];
      const groups = sgdOf(opt).paramGroups;
      if (!saved) throw new Error(`${file}: no optimizer '${name}' in the checkpoint`);
      if (saved.length !== groups.length || saved.some((g, i) => g.params !== groups[i].params.length)) {
        throw new Error(
          `${file}: optimizer '${name}' has ${saved.map((g) => g.params).join('+')} parameters in its groups, the target has ${groups.map((g) => g.params.length).join('+')}`,
        );
      }
    }
    for (const [name, module] of Object.entries(into.modules ?? {})) module.loadStateDict(section(`modules.${name}.`));
    for (const [name, opt] of Object.entries(into.optimizers ?? {})) {
      const sgd = sgdOf(opt);
      sgd.paramGroups.forEach((group, g) => {
        const { params: _count, ...hyper } = info.optimizers[name][g] as unknown as Record<string, unknown>;
        Object.assign(group, hyper);
        group.params.forEach((p, i) => {
          const buf = tensors[`optimizers.${name}.${g}.${i}.momentum_buffer`];
          const old = sgd.momentumBuffers.get(p);
          if (old) old.dispose();
          if (buf) sgd.momentumBuffers.set(p, keep(ownCopy(buf, p.device as Device)));
          else sgd.momentumBuffers.delete(p);
        });
      });
    }
    if (options.restoreRng ?? true) {
      for (const [key, state] of Object.entries(section('rng.'))) {
        if (key === 'cpu' || (cuda.isAvailable() && Number(key.split(':')[1]) < cuda.deviceCount()))
          setRngState(state, key);
      }
    }
    const extra = section('tensors.');
    const device = options.device ?? 'cpu';
    const out: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(extra)) out[k] = keep(ownCopy(t, device));
    return { epoch: info.epoch, step: info.step, metadata: info.metadata, tensors: out };
  } finally {
    dispose();
  }
}
