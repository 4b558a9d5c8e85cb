// The Un-Mix policy (spec §1, §5): one mixture per batch of the first view with its batch-reversed self,
// global (mixup) with probability `prob`, else region (CutMix) with λ recomputed from the box.
// Random draws, in this order per batch: r ~ U[0,1), λ ~ Beta(β, β), then for CutMix the box centre
// (row, then column), matching the reference's numpy call order.
import { Rng } from '../rng';
import { Tensor } from '../tensor';
import * as is from '../validate';
import { StepResult } from './method';

export interface UnmixOptions {
  /** false: the plain method (the baseline rows) */
  enabled: boolean;
  /** probability of the global mixture (mixup); the rest is region mixture (CutMix). Reference: 0.5 */
  prob: number;
  /** λ ~ Beta(beta, beta). Reference: 1.0 */
  beta: number;
}

export const UNMIX_DEFAULTS: UnmixOptions = { enabled: true, prob: 0.5, beta: 1.0 };

/** A box [a1, b1, a2, b2]: rows a1..a2 (exclusive), columns b1..b2 (exclusive). */
export type Box = [number, number, number, number];

export interface MixParams {
  kind: 'global' | 'region';
  /** the sampled λ (global: the mixing weight; region: the box-size draw) */
  lam: number;
  /** region only */
  box?: Box;
}

export interface Mixture {
  /** the mixed batch: sample i is dominated by x[i] with weight `lam` */
  mixed: Tensor;
  /** weight of the own image: as drawn for global, recomputed from the box for region */
  lam: number;
  kind: 'global' | 'region';
  box?: Box;
}

/**
 * rand_bbox exactly as the reference's utils.py: size = [N, C, A, B]; cut = floor(side·sqrt(1-λ));
 * centre uniform over the whole image; the half-cut box around it is clipped to the image.
 */
export function randBbox(size: readonly number[], lam: number, rng: Rng): Box {
  const [A, B] = [size[2], size[3]];
  const cutRat = Math.sqrt(1 - lam);
  const cutA = Math.floor(A * cutRat);
  const cutB = Math.floor(B * cutRat);
  const ca = rng.randint(0, A);
  const cb = rng.randint(0, B);
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const halfA = Math.floor(cutA / 2);
  const halfB = Math.floor(cutB / 2);
  return [clip(ca - halfA, A), clip(cb - halfB, B), clip(ca + halfA, A), clip(cb + halfB, B)];
}

/** λ after pasting `box`: the fraction of pixels still from the own image. */
export function boxLam(box: Box, height: number, width: number): number {
  const [a1, b1, a2, b2] = box;
  return 1 - ((a2 - a1) * (b2 - b1)) / (height * width);
}

/** The partner batch: sample i pairs with sample N-1-i. */
export function reverseBatch(x: Tensor): Tensor {
  return x.flip(0);
}

/** Draws this batch's mixing parameters (r, λ, box) for a batch of shape `size`. */
export function drawMixParams(size: readonly number[], options: UnmixOptions, rng: Rng): MixParams {
  checkUnmixOptions('Un-Mix', options);
  const r = rng.random();
  const lam = rng.beta(options.beta, options.beta);
  if (r < options.prob) return { kind: 'global', lam };
  return { kind: 'region', lam, box: randBbox(size, lam, rng) };
}

/** Builds the mixture for given parameters (deterministic; tests and multi-pair SwAV use it directly). */
export function mixWithParams(x: Tensor, params: MixParams): Mixture {
  if (x.dim() !== 4) throw new Error(`Un-Mix: expected a batch [N, C, H, W], got shape [${x.shape.join(', ')}]`);
  const reversed = reverseBatch(x);
  if (params.kind === 'global') {
    const mixed = x.mul(params.lam).add(reversed.mul(1 - params.lam));
    reversed.dispose();
    return { mixed, lam: params.lam, kind: 'global' };
  }
  if (!params.box) throw new Error('Un-Mix: a region mixture needs a box');
  const [a1, b1, a2, b2] = params.box;
  const [, , H, W] = x.shape;
  const mixed = x.clone();
  if (a2 > a1 && b2 > b1) {
    const patch = reversed.index('...', { start: a1, end: a2 }, { start: b1, end: b2 });
    mixed.indexPut_(['...', { start: a1, end: a2 }, { start: b1, end: b2 }], patch);
    patch.dispose();
  }
  reversed.dispose();
  return { mixed, lam: boxLam(params.box, H, W), kind: 'region', box: params.box };
}

/** One Un-Mix draw and mixture for the batch `x` (normalized images [N, C, H, W]). */
export function mixBatch(x: Tensor, options: UnmixOptions, rng: Rng): Mixture {
  return mixWithParams(x, drawMixParams(x.shape, options, rng));
}

/** This batch's draw when Un-Mix is on; null (nothing drawn) for the plain method. */
export function drawIfEnabled(size: readonly number[], options: UnmixOptions, rng: Rng): MixParams | null {
  return options.enabled ? drawMixParams(size, options, rng) : null;
}

/** L(x1, x2) + λ·L(mix, x2) + (1 − λ)·L(reverse(mix), x2), given the three terms. */
export function unmixLoss(clean: Tensor, mixed: Tensor, mixedReversed: Tensor, lam: number): Tensor {
  return clean.add(mixed.mul(lam)).add(mixedReversed.mul(1 - lam));
}

/**
 * The Un-Mix step of a two-view method (spec §1 steps 3–6): mix x1 with its reversed batch, forward
 * the mixture once and add λ·term(out) + (1 − λ)·term(reverse(out)) to the method's clean loss. The
 * method says what the forward and a term are (the mixture on the online/query side, x2's outputs as
 * targets); the reversed term reverses the output (no second forward, step 6). mix null: plain method.
 */
export function unmixStep(
  clean: Tensor,
  x1: Tensor,
  mix: MixParams | null,
  forward: (x: Tensor) => Tensor,
  term: (out: Tensor) => Tensor,
): StepResult {
  if (!mix) return { loss: clean, logs: { loss: clean.item(), loss_clean: clean.item() } };
  const m = mixWithParams(x1, mix);
  const out = forward(m.mixed);
  const mixed = term(out);
  const mixedReversed = term(out.flip(0));
  const loss = unmixLoss(clean, mixed, mixedReversed, m.lam);
  return {
    loss,
    logs: {
      loss: loss.item(),
      loss_clean: clean.item(),
      loss_mix: mixed.item(),
      loss_mix_reversed: mixedReversed.item(),
      lam: m.lam,
      unmix_global: Number(m.kind === 'global'),
    },
  };
}

/** Checks prob and beta, named `${prefix}prob` and `${prefix}beta` in `owner`'s errors. */
export function checkUnmixOptions(owner: string, o: UnmixOptions, prefix = ''): void {
  is.probability(owner, `${prefix}prob`, o.prob);
  is.positive(owner, `${prefix}beta`, o.beta);
}
