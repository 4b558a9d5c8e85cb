// Deterministic per-class subsets (e.g. 1% / 10% labels for semi-supervised evaluation, or a small
// training set for a quick run). Each class draws from its own stream Rng.derive(seed, class), so a
// class's choice depends only on the seed and that class's images; chosen images keep their order.
import { tensor } from '../creation';
import { Rng } from '../rng';
import { Device, Tensor } from '../tensor';
import type { EncodedImageSet, ImageSet, TensorImageSet } from './dataset';
import * as is from '../validate';

export interface SubsetOptions {
  /** this many images of every class (an error if a class has fewer) */
  perClass?: number;
  /** this fraction of every class, rounded, at least one image of each non-empty class */
  fraction?: number;
  /** default 0 */
  seed?: number;
}

/** The chosen indices (ascending) of a set with these labels. */
export function subsetIndices(labels: ArrayLike<number>, numClasses: number, options: SubsetOptions): Int32Array {
  const { perClass, fraction, seed = 0 } = options;
  if ((perClass === undefined) === (fraction === undefined))
    throw new Error('subset: give exactly one of perClass and fraction');
  if (perClass !== undefined) is.positiveInt('subset', 'perClass', perClass);
  if (fraction !== undefined) is.inRange('subset', 'fraction', fraction, 0, 1, { loOpen: true });
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!(l >= 0 && l < numClasses)) throw new Error(`subset: image ${i} has label ${l}, outside [0, ${numClasses})`);
    byClass[l].push(i);
  }
  const chosen: number[] = [];
  byClass.forEach((members, c) => {
    const k = perClass ?? Math.min(members.length, Math.max(1, Math.round(fraction! * members.length)));
    if (k > members.length)
      throw new Error(`subset: class ${c} has ${members.length} images, fewer than perClass ${perClass}`);
    const order = Rng.derive(seed, c).permutation(members.length);
    for (let j = 0; j < k; j++) chosen.push(members[order[j]]);
  });
  return Int32Array.from(chosen).sort();
}

/**
 * The same kind of set holding only the chosen images. Tensor sets: new tensors (index_select of the
 * images, the labels and any other per-image tensor such as CIFAR-100's coarseLabels), which the
 * caller owns besides the original. Encoded sets: a re-indexed view (nothing is read).
 */
export function subsetImageSet<T extends ImageSet>(set: T, options: SubsetOptions): T & { indices: Int32Array } {
  if (set.kind === 'encoded') {
    const base = set as EncodedImageSet;
    const indices = subsetIndices(base.labels, base.classes.length, options);
    const view: EncodedImageSet & { indices: Int32Array } = {
      ...base,
      length: indices.length,
      labels: Int32Array.from(indices, (i) => base.labels[i]),
      source: (i) => base.source(indices[at(i, indices.length)]),
      read: (i) => base.read(indices[at(i, indices.length)]),
      indices,
    };
    return view as unknown as T & { indices: Int32Array };
  }
  const base = set as TensorImageSet;
  const n = base.images.shape[0];
  const indices = subsetIndices(Array.from(base.labels.data() as BigInt64Array, Number), base.classes.length, options);
  const index = tensor(indices, { dtype: 'int64', device: base.images.device as Device });
  try {
    const out: Record<string, unknown> = { ...base, indices };
    for (const [name, value] of Object.entries(base)) {
      if (value instanceof Tensor && value.shape[0] === n && value.ndim > 0) out[name] = value.indexSelect(0, index);
    }
    return out as unknown as T & { indices: Int32Array };
  } finally {
    index.dispose();
  }
}

function at(i: number, n: number): number {
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`subset: image index ${i} out of range [0, ${n})`);
  return i;
}
