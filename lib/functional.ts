// Functional ops as free functions (torch.* and torch.nn.functional.*): joining, selection,
// linear algebra and the nn ops that ResNets, losses and augmentation need.
import { call } from './dispatch';
import { Tensor, TensorOrScalar } from './tensor';

function T(name: string, args: unknown[], kwargs?: Record<string, unknown>): Tensor {
  return call(name, args, kwargs) as Tensor;
}

type Pair = number | [number, number];

// ---- joining and selection -------------------------------------------------------------------

export function cat(tensors: Tensor[], dim = 0): Tensor {
  return T('cat', [tensors, dim]);
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return T('stack', [tensors, dim]);
}
/** `x` where `condition` holds, else `y`. */
export function where(condition: Tensor, x: TensorOrScalar, y: TensorOrScalar): Tensor {
  return T('where', [condition, x, y]);
}
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  return T('einsum', [equation, operands]);
}
export function matmul(a: Tensor, b: Tensor): Tensor {
  return T('matmul', [a, b]);
}
export function mm(a: Tensor, b: Tensor): Tensor {
  return T('mm', [a, b]);
}
export function bmm(a: Tensor, b: Tensor): Tensor {
  return T('bmm', [a, b]);
}
export function outer(a: Tensor, b: Tensor): Tensor {
  return T('outer', [a, b]);
}

// ---- activations and normalisation -----------------------------------------------------------

export function relu(x: Tensor): Tensor {
  return T('relu', [x]);
}
export function softmax(x: Tensor, dim: number): Tensor {
  return T('softmax.int', [x, dim]);
}
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return T('log_softmax.int', [x, dim]);
}
/** x / max(‖x‖_p, eps) along `dim`, as torch.nn.functional.normalize. */
export function normalize(x: Tensor, options: { p?: number; dim?: number; eps?: number } = {}): Tensor {
  const { p = 2, dim = 1, eps = 1e-12 } = options;
  const norm = T('norm.ScalarOpt_dim', [x, p, [dim], true]);
  const denom = norm.clamp(eps).expandAs(x);
  const out = x.div(denom);
  norm.dispose();
  denom.dispose();
  return out;
}
/** int64 class indices -> one-hot int64 rows (numClasses -1: max index + 1). */
export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  return T('one_hot', [indices, numClasses]);
}
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  return T('dropout', [x, p, training]);
}

// ---- layers ----------------------------------------------------------------------------------

export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return T('linear', [x, weight, bias ?? null]);
}
export function conv2d(
  x: Tensor,
  weight: Tensor,
  options: { bias?: Tensor | null; stride?: Pair; padding?: Pair; dilation?: Pair; groups?: number } = {},
): Tensor {
  const { bias = null, stride = 1, padding = 0, dilation = 1, groups = 1 } = options;
  return T('conv2d', [x, weight, bias, stride, padding, dilation, groups]);
}
/**
 * Batch normalisation as torch.nn.functional.batch_norm: in training mode the batch statistics
 * are used and running statistics (when given) are updated in place with `momentum`.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  options: { weight?: Tensor | null; bias?: Tensor | null; training?: boolean; momentum?: number; eps?: number } = {},
): Tensor {
  const { weight = null, bias = null, training = false, momentum = 0.1, eps = 1e-5 } = options;
  return T('batch_norm', [x, weight, bias, runningMean, runningVar, training, momentum, eps, true]);
}
export function maxPool2d(
  x: Tensor,
  kernelSize: Pair,
  options: { stride?: Pair; padding?: Pair; dilation?: Pair; ceilMode?: boolean } = {},
): Tensor {
  const { stride = kernelSize, padding = 0, dilation = 1, ceilMode = false } = options;
  return T('max_pool2d', [x, kernelSize, stride, padding, dilation, ceilMode]);
}
export function avgPool2d(
  x: Tensor,
  kernelSize: Pair,
  options: { stride?: Pair; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean } = {},
): Tensor {
  const { stride = kernelSize, padding = 0, ceilMode = false, countIncludePad = true } = options;
  return T('avg_pool2d', [x, kernelSize, stride, padding, ceilMode, countIncludePad]);
}
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  return T('adaptive_avg_pool2d', [x, outputSize]);
}

// ---- losses ----------------------------------------------------------------------------------

export type Reduction = 'mean' | 'sum' | 'none';
const REDUCTION: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 };

/** Cross entropy from logits and int64 class targets (or class probabilities), as torch's. */
export function crossEntropy(
  logits: Tensor,
  target: Tensor,
  options: { weight?: Tensor | null; reduction?: Reduction; ignoreIndex?: number; labelSmoothing?: number } = {},
): Tensor {
  const { weight = null, reduction = 'mean', ignoreIndex = -100, labelSmoothing = 0 } = options;
  return T('cross_entropy_loss', [logits, target, weight, REDUCTION[reduction], ignoreIndex, labelSmoothing]);
}
export function nllLoss(
  logProbs: Tensor,
  target: Tensor,
  options: { reduction?: Reduction; ignoreIndex?: number } = {},
): Tensor {
  return T('nll_loss_nd', [
    logProbs,
    target,
    null,
    REDUCTION[options.reduction ?? 'mean'],
    options.ignoreIndex ?? -100,
  ]);
}
export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return T('mse_loss', [input, target, REDUCTION[reduction]]);
}

// ---- resampling ------------------------------------------------------------------------------

/** Samples `x` at normalised `grid` positions (torch.nn.functional.grid_sample). */
export function gridSample(
  x: Tensor,
  grid: Tensor,
  options: {
    mode?: 'bilinear' | 'nearest' | 'bicubic';
    paddingMode?: 'zeros' | 'border' | 'reflection';
    alignCorners?: boolean;
  } = {},
): Tensor {
  const modes = { bilinear: 0, nearest: 1, bicubic: 2 };
  const paddings = { zeros: 0, border: 1, reflection: 2 };
  return T('grid_sampler', [
    x,
    grid,
    modes[options.mode ?? 'bilinear'],
    paddings[options.paddingMode ?? 'zeros'],
    options.alignCorners ?? false,
  ]);
}
/** Resizes 4-d NCHW input to `size` (torch.nn.functional.interpolate). */
export function interpolate(
  x: Tensor,
  size: [number, number],
  options: { mode?: 'bilinear' | 'nearest' | 'bicubic'; alignCorners?: boolean; antialias?: boolean } = {},
): Tensor {
  const mode = options.mode ?? 'nearest';
  if (mode === 'nearest') return T('upsample_nearest2d', [x, size, null, null]);
  const alignCorners = options.alignCorners ?? false;
  // torch.nn.functional.interpolate's own kernel for antialias: internal by name, but its
  // arguments here are the ones F.interpolate passes, so it is called as trusted.
  if (options.antialias)
    return call(`_upsample_${mode}2d_aa`, [x, size, alignCorners, null, null], undefined, {
      unchecked: true,
    }) as Tensor;
  return T(`upsample_${mode}2d`, [x, size, alignCorners, null, null]);
}
/** Pads the last dimensions: [left, right, top, bottom, ...] as torch.nn.functional.pad. */
export function pad(
  x: Tensor,
  padding: number[],
  options: { mode?: 'constant' | 'reflect' | 'replicate' | 'circular'; value?: number } = {},
): Tensor {
  return T('pad', [x, padding, options.mode ?? 'constant', options.value ?? null]);
}
