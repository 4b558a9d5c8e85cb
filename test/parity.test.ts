// Parity with PyTorch: every case in test/fixtures/ops.json (made by
// test/fixtures/make_op_fixtures.py with the torch of the LibTorch under test) is rebuilt here with the unmix API, run
// through the equivalent unmix call (the OPS table below: typed Tensor methods and free functions,
// as users call them), and compared with PyTorch's forward outputs and its gradients of
// sum_k (out_k * g_k).sum() with respect to each input that requires grad.
//
// Tolerances: an element passes when |actual - expected| <= atol + rtol * |expected|, with
//   float32: rtol 1e-5, atol 1e-6
//   float64: rtol 1e-10, atol 1e-12
// NaN must match NaN and infinities must match exactly. Integer and bool results must be exact.
// Shapes and dtypes must match exactly, and so must whether each output requires grad.
import * as fs from 'fs';
import * as path from 'path';
import { torchFixture } from './support/python';
import {
  adaptiveAvgPool2d,
  arange,
  avgPool2d,
  batchNorm,
  bmm,
  cat,
  conv2d,
  crossEntropy,
  type DType,
  dropout,
  einsum,
  eye,
  full,
  fullLike,
  gridSample,
  interpolate,
  linear,
  linspace,
  logSoftmax,
  matmul,
  maxPool2d,
  mseLoss,
  nllLoss,
  normalize,
  oneHot,
  ones,
  onesLike,
  outer,
  pad,
  relu,
  scalarTensor,
  scope,
  softmax,
  stack,
  Tensor,
  tensor,
  where,
  zeros,
  zerosLike,
} from '../lib';

const TOLERANCE: Partial<Record<DType, { rtol: number; atol: number }>> = {
  float32: { rtol: 1e-5, atol: 1e-6 },
  float64: { rtol: 1e-10, atol: 1e-12 },
};

type Value = number | string;
interface TensorSpec {
  dtype: DType;
  shape: number[];
  data: Value[];
  requires_grad?: boolean;
}
interface OutputSpec extends TensorSpec {
  requires_grad: boolean;
  /** Present for every differentiable floating output: its weight in the loss. */
  g?: TensorSpec;
}
interface Case {
  name: string;
  op: string;
  inputs: Record<string, TensorSpec>;
  options: Record<string, any>;
  outputs: OutputSpec[];
  grads: Record<string, TensorSpec | null>;
}
interface Fixture {
  torch: string;
  cases: Case[];
}

// The committed file when the test Python's torch made it, else that torch's own (support/python.ts).
const FIXTURE = torchFixture('ops.json', 'make_op_fixtures.py');
const fixture = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as Fixture;

type Inputs = Record<string, Tensor>;
type Options = Record<string, any>;
type OpFn = (i: Inputs, o: Options) => Tensor | Tensor[];

const vi = (r: { values: Tensor; indices: Tensor }): Tensor[] => [r.values, r.indices];

/** Case name -> the unmix call equivalent to the PyTorch call in make_op_fixtures.py. */
const OPS: Record<string, OpFn> = {
  // ---- creation ----
  arange_float: (_, o) => arange(o.start, o.end, o.step),
  arange_end_only: (_, o) => arange(o.end, undefined, 1, { dtype: 'float32' }), // torch.arange(5.0): JS cannot say 5.0
  arange_int64: (_, o) => arange(o.start, o.end, o.step, { dtype: 'int64' }),
  linspace: (_, o) => linspace(o.start, o.end, o.steps),
  linspace_float64: (_, o) => linspace(o.start, o.end, o.steps, { dtype: 'float64' }),
  eye: (_, o) => eye(o.n),
  eye_rect: (_, o) => eye(o.n, o.m),
  full: (_, o) => full(o.shape, o.value),
  full_int64: (_, o) => full(o.shape, o.value, { dtype: 'int64' }),
  full_bool: (_, o) => full(o.shape, true),
  zeros: (_, o) => zeros(o.shape),
  ones_float64: (_, o) => ones(o.shape, { dtype: 'float64' }),
  zeros_int64: (_, o) => zeros(o.shape, { dtype: 'int64' }),
  zeros_like: ({ x }) => zerosLike(x),
  ones_like_int64: ({ x }) => onesLike(x),
  full_like: ({ x }, o) => fullLike(x, o.value),
  scalar_tensor: (_, o) => scalarTensor(o.value),

  // ---- views and shape ops ----
  view: ({ x }) => x.view(4, 6),
  view_infer: ({ x }) => x.view(-1, 8),
  reshape_noncontiguous: ({ x }) => x.transpose(0, 1).reshape(6, 4),
  view_as: ({ x, y }) => x.viewAs(y),
  flatten: ({ x }) => x.flatten(1),
  unflatten: ({ x }) => x.unflatten(2, [2, 2]),
  permute: ({ x }) => x.permute(2, 0, 1),
  transpose: ({ x }) => x.transpose(0, 2),
  t: ({ x }) => x.t(),
  flip: ({ x }) => x.flip([0, 2]),
  flip_one_dim: ({ x }) => x.flip(1),
  narrow: ({ x }) => x.narrow(1, 1, 2),
  select: ({ x }) => x.select(1, -1),
  slice: ({ x }) => x.slice(1, 1, 3),
  index_slices: ({ x }) => x.index({}, { start: 1 }, { step: 2 }),
  index_int_newaxis_ellipsis: ({ x }) => x.index(0, null, '...', 1),
  index_negative_slice: ({ x }) => x.index('...', { start: -2 }),
  index_tensor: ({ x, idx }) => x.index(idx),
  index_tensor_after_slice: ({ x, idx }) => x.index({}, idx),
  index_two_tensors: ({ x, i, j }) => x.index(i, j),
  index_bool_mask: ({ x, m }) => x.index(m),
  // x[..., mask2d]: the mask spans as many dimensions as it has (an earlier JS indexer counted it
  // as one and put it at the wrong dimension; indexing is native/indexing.cc's TensorIndex now).
  index_ellipsis_bool_mask: ({ x, m }) => x.index('...', m),
  index_select: ({ x, idx }) => x.indexSelect(1, idx),
  gather: ({ x, idx }) => x.gather(1, idx),
  gather_int64: ({ x, idx }) => x.gather(0, idx),
  scatter_src: ({ x, idx, src }) => x.scatter(1, idx, src),
  scatter_value: ({ x, idx }, o) => x.scatter(1, idx, o.value),
  scatter_inplace: ({ x, idx, src }) => x.clone().scatter_(0, idx, src),
  scatter_add: ({ x, idx, src }) => x.scatterAdd(0, idx, src),
  cat: ({ a, b }) => cat([a, b], 1),
  cat_three_dim0: ({ a, b, c }) => cat([a, b, c]),
  cat_dtype_promotion: ({ a, b }) => cat([a, b]),
  stack: ({ a, b, c }) => stack([a, b, c], 1),
  stack_last_dim: ({ a, b }) => stack([a, b], -1),
  split: ({ x }) => x.split(2, 1),
  split_sizes: ({ x }) => x.split([1, 3], 0),
  chunk: ({ x }) => x.chunk(3, -1),
  unbind: ({ x }) => x.unbind(1),
  expand: ({ x }) => x.expand(3, 4),
  expand_new_dims: ({ x }) => x.expand(2, -1, 4),
  expand_as: ({ x, y }) => x.expandAs(y),
  repeat: ({ x }) => x.repeat(2, 1, 2),
  repeat_interleave: ({ x }) => x.repeatInterleave(2, 1),
  squeeze_all: ({ x }) => x.squeeze(),
  squeeze_dim: ({ x }) => x.squeeze(2),
  unsqueeze: ({ x }) => x.unsqueeze(-1),
  contiguous: ({ x }) => x.permute(2, 0, 1).contiguous(),
  clone: ({ x }) => x.clone(),
  to_float64: ({ x }) => x.to('float64'),
  to_int64: ({ x }) => x.to('int64'),

  // ---- elementwise math ----
  add_broadcast: ({ a, b }) => a.add(b),
  add_alpha: ({ a, b }, o) => a.add(b, o.alpha),
  add_scalar: ({ a }, o) => a.add(o.value),
  sub_broadcast: ({ a, b }) => a.sub(b),
  sub_alpha: ({ a, b }, o) => a.sub(b, o.alpha),
  mul_broadcast: ({ a, b }) => a.mul(b),
  mul_scalar: ({ a }, o) => a.mul(o.value),
  div_broadcast: ({ a, b }) => a.div(b),
  div_scalar: ({ a }, o) => a.div(o.value),
  div_floor: ({ a, b }) => a.div(b, 'floor'),
  div_trunc: ({ a, b }) => a.div(b, 'trunc'),
  remainder: ({ a, b }) => a.remainder(b),
  pow_scalar: ({ a }, o) => a.pow(o.exponent),
  pow_fractional: ({ a }, o) => a.pow(o.exponent),
  pow_tensor: ({ a, b }) => a.pow(b),
  exp: ({ x }) => x.exp(),
  log: ({ x }) => x.log(),
  log1p: ({ x }) => x.log1p(),
  sqrt: ({ x }) => x.sqrt(),
  rsqrt: ({ x }) => x.rsqrt(),
  abs: ({ x }) => x.abs(),
  neg: ({ x }) => x.neg(),
  square: ({ x }) => x.square(),
  reciprocal: ({ x }) => x.reciprocal(),
  sin: ({ x }) => x.sin(),
  cos: ({ x }) => x.cos(),
  tanh: ({ x }) => x.tanh(),
  sigmoid: ({ x }) => x.sigmoid(),
  relu: ({ x }) => x.relu(),
  floor: ({ x }) => x.floor(),
  ceil: ({ x }) => x.ceil(),
  round: ({ x }) => x.round(),
  sign: ({ x }) => x.sign(),
  clamp: ({ x }, o) => x.clamp(o.min, o.max),
  clamp_min: ({ x }, o) => x.clamp(o.min),
  clamp_max: ({ x }, o) => x.clamp(null, o.max),
  maximum: ({ a, b }) => a.maximum(b),
  minimum: ({ a, b }) => a.minimum(b),
  lerp_scalar: ({ a, b }, o) => a.lerp(b, o.weight),
  lerp_tensor: ({ a, b, w }) => a.lerp(b, w),
  addcmul: ({ x, t1, t2 }, o) => x.addcmul(t1, t2, o.value),

  // ---- in-place variants (on a clone, as in the fixture) ----
  add_inplace: ({ x, b }, o) => x.clone().add_(b, o.alpha),
  sub_inplace_scalar: ({ x }, o) => x.clone().sub_(o.value),
  mul_inplace: ({ x, b }) => x.clone().mul_(b),
  div_inplace: ({ x, b }) => x.clone().div_(b),
  pow_inplace: ({ x }, o) => x.clone().pow_(o.exponent),
  clamp_inplace: ({ x }, o) => x.clone().clamp_(o.min, o.max),
  relu_inplace: ({ x }) => x.clone().relu_(),
  addcmul_inplace: ({ x, t1, t2 }, o) => x.clone().addcmul_(t1, t2, o.value),
  addcdiv_inplace: ({ x, t1, t2 }, o) => x.clone().addcdiv_(t1, t2, o.value),
  lerp_inplace: ({ a, b }, o) => a.clone().lerp_(b, o.weight),
  masked_fill_inplace: ({ x, m }, o) => x.clone().maskedFill_(m, o.value),
  fill_inplace: ({ x }, o) => x.clone().fill_(o.value),
  zero_inplace: ({ x }) => x.clone().zero_(),
  copy_inplace: ({ x, src }) => x.clone().copy_(src),
  index_put_accumulate: ({ x, idx, v }) => x.clone().indexAdd_([idx], v),
  index_put_mask_scalar: ({ x, m }, o) => x.clone().indexPut_([m], o.value),

  // ---- comparisons, masks, where ----
  eq: ({ a, b }) => a.eq(b),
  ne: ({ a, b }) => a.ne(b),
  lt: ({ a, b }) => a.lt(b),
  le: ({ a, b }) => a.le(b),
  gt: ({ a, b }) => a.gt(b),
  ge: ({ a, b }) => a.ge(b),
  gt_scalar: ({ a }, o) => a.gt(o.value),
  eq_int64_scalar: ({ a }, o) => a.eq(o.value),
  logical_and: ({ a, b }) => a.logicalAnd(b),
  logical_or: ({ a, b }) => a.logicalOr(b),
  logical_not: ({ a }) => a.logicalNot(),
  isnan: ({ x }) => x.isnan(),
  isfinite: ({ x }) => x.isfinite(),
  where: ({ c, a, b }) => where(c, a, b),
  where_scalar: ({ c, a }, o) => where(c, a, o.value),
  where_method: ({ c, a, b }) => a.where(c, b),
  where_dtype_promotion: ({ c, a, b }) => where(c, a, b),
  masked_fill: ({ x, m }, o) => x.maskedFill(m, o.value),
  masked_fill_broadcast_mask: ({ x, m }, o) => x.maskedFill(m, o.value),
  masked_select: ({ x, m }) => x.maskedSelect(m),
  any: ({ a }) => a.any(),
  all: ({ a }) => a.all(),

  // ---- reductions ----
  sum_all: ({ x }) => x.sum(),
  sum_dims_keepdim: ({ x }, o) => x.sum(o.dim, { keepdim: o.keepdim }),
  sum_negative_dim: ({ x }, o) => x.sum(o.dim),
  sum_dtype_float64: ({ x }) => x.sum(undefined, { dtype: 'float64' }),
  sum_int64: ({ x }, o) => x.sum(o.dim),
  sum_int32: ({ x }) => x.sum(),
  sum_bool: ({ x }) => x.sum(),
  mean_all: ({ x }) => x.mean(),
  mean_dim_keepdim: ({ x }, o) => x.mean(o.dim, { keepdim: o.keepdim }),
  mean_dims: ({ x }, o) => x.mean(o.dim),
  var_all: ({ x }) => x.var(),
  var_dim: ({ x }, o) => x.var(o.dim),
  var_population_keepdim: ({ x }, o) => x.var(o.dim, { correction: o.correction, keepdim: o.keepdim }),
  std_all: ({ x }) => x.std(),
  std_dim_keepdim: ({ x }, o) => x.std(o.dim, { keepdim: o.keepdim }),
  prod_all: ({ x }) => x.prod(),
  prod_dim: ({ x }, o) => x.prod(o.dim),
  max_all: ({ x }) => x.max(),
  min_all: ({ x }) => x.min(),
  max_dim: ({ x }, o) => vi(x.max(o.dim)),
  min_dim_keepdim: ({ x }, o) => vi(x.min(o.dim, { keepdim: o.keepdim })),
  max_dim_int64: ({ x }, o) => vi(x.max(o.dim)),
  argmax_all: ({ x }) => x.argmax(),
  argmax_dim_keepdim: ({ x }, o) => x.argmax(o.dim, { keepdim: o.keepdim }),
  argmin_dim: ({ x }, o) => x.argmin(o.dim),
  topk: ({ x }, o) => vi(x.topk(o.k, o.dim)),
  topk_smallest: ({ x }, o) => vi(x.topk(o.k, o.dim, { largest: false })),
  sort: ({ x }, o) => vi(x.sort(o.dim)),
  sort_descending: ({ x }, o) => vi(x.sort(o.dim, { descending: true })),
  sort_int64: ({ x }) => vi(x.sort()),
  argsort: ({ x }) => x.argsort(),
  argsort_descending: ({ x }, o) => x.argsort(o.dim, { descending: true }),
  logsumexp: ({ x }, o) => x.logsumexp(o.dim),
  logsumexp_dims_keepdim: ({ x }, o) => x.logsumexp(o.dim, { keepdim: o.keepdim }),
  norm_all: ({ x }) => x.norm(),
  norm_p1_dim: ({ x }, o) => x.norm(o.p, o.dim),
  norm_p3_dims_keepdim: ({ x }, o) => x.norm(o.p, o.dim, { keepdim: o.keepdim }),
  cumsum: ({ x }, o) => x.cumsum(o.dim),
  cumsum_int64: ({ x }, o) => x.cumsum(o.dim),

  // ---- linear algebra ----
  matmul_2d: ({ a, b }) => a.matmul(b),
  matmul_batched_broadcast: ({ a, b }) => a.matmul(b),
  matmul_batch_broadcast_both: ({ a, b }) => matmul(a, b),
  matmul_matrix_vector: ({ a, b }) => a.matmul(b),
  matmul_vector_vector: ({ a, b }) => a.matmul(b),
  mm: ({ a, b }) => a.mm(b),
  bmm: ({ a, b }) => bmm(a, b),
  dot: ({ a, b }) => a.dot(b),
  outer: ({ a, b }) => outer(a, b),
  einsum_batched_matmul: ({ a, b }) => einsum('bij,bjk->bik', a, b),
  einsum_diagonal: ({ a }) => einsum('ii->i', a),
  einsum_contract_sum: ({ a, b }) => einsum('ij,kj->ik', a, b),
  einsum_three_operands: ({ a, b, c }) => einsum('ij,jk,kl->il', a, b, c),
  linear: ({ x, w, b }) => linear(x, w, b),
  linear_no_bias_3d: ({ x, w }) => linear(x, w),

  // ---- softmax family, normalize, one_hot ----
  softmax: ({ x }, o) => softmax(x, o.dim),
  softmax_method_dim0: ({ x }, o) => x.softmax(o.dim),
  log_softmax: ({ x }, o) => logSoftmax(x, o.dim),
  log_softmax_method: ({ x }, o) => x.logSoftmax(o.dim),
  normalize: ({ x }) => normalize(x),
  normalize_p1_dim0: ({ x }, o) => normalize(x, { p: o.p, dim: o.dim }),
  one_hot: ({ idx }, o) => oneHot(idx, o.num_classes),
  one_hot_inferred: ({ idx }) => oneHot(idx),

  // ---- nn functional ----
  relu_functional: ({ x }) => relu(x),
  dropout_eval: ({ x }, o) => dropout(x, o.p, false),
  conv2d: ({ x, w, b }, o) => conv2d(x, w, { bias: b, padding: o.padding }),
  conv2d_stride2_no_bias: ({ x, w }, o) => conv2d(x, w, { stride: o.stride }),
  conv2d_groups: ({ x, w, b }, o) => conv2d(x, w, { bias: b, stride: o.stride, padding: o.padding, groups: o.groups }),
  conv2d_dilation: ({ x, w }, o) => conv2d(x, w, { padding: o.padding, dilation: o.dilation }),
  conv2d_float64: ({ x, w, b }) => conv2d(x, w, { bias: b }),
  // The running statistics are inputs updated in place: they are compared after the call.
  batch_norm_train: ({ x, w, b, rm, rv }, o) => [
    batchNorm(x, rm, rv, { weight: w, bias: b, training: true, momentum: o.momentum, eps: o.eps }),
    rm,
    rv,
  ],
  batch_norm_eval: ({ x, w, b, rm, rv }, o) => [
    batchNorm(x, rm, rv, { weight: w, bias: b, training: false, eps: o.eps }),
    rm,
    rv,
  ],
  batch_norm_train_1d_momentum: ({ x, w, b, rm, rv }, o) => [
    batchNorm(x, rm, rv, { weight: w, bias: b, training: true, momentum: o.momentum, eps: o.eps }),
    rm,
    rv,
  ],
  batch_norm_train_no_affine_no_stats: ({ x }) => batchNorm(x, null, null, { training: true }),
  max_pool2d: ({ x }, o) => maxPool2d(x, o.kernel_size),
  max_pool2d_k3_s2_p1: ({ x }, o) => maxPool2d(x, o.kernel_size, { stride: o.stride, padding: o.padding }),
  max_pool2d_ceil: ({ x }, o) => maxPool2d(x, o.kernel_size, { stride: o.stride, ceilMode: true }),
  avg_pool2d: ({ x }, o) => avgPool2d(x, o.kernel_size),
  avg_pool2d_k3_s2_p1_exclude_pad: ({ x }, o) =>
    avgPool2d(x, o.kernel_size, { stride: o.stride, padding: o.padding, countIncludePad: false }),
  avg_pool2d_rect_ceil: ({ x }, o) => avgPool2d(x, o.kernel_size, { stride: o.stride, ceilMode: true }),
  adaptive_avg_pool2d: ({ x }, o) => adaptiveAvgPool2d(x, o.output_size),
  adaptive_avg_pool2d_global: ({ x }, o) => adaptiveAvgPool2d(x, o.output_size),
  cross_entropy: ({ logits, target }) => crossEntropy(logits, target),
  cross_entropy_label_smoothing: ({ logits, target }, o) =>
    crossEntropy(logits, target, { labelSmoothing: o.label_smoothing }),
  cross_entropy_weight_sum: ({ logits, target, weight }, o) =>
    crossEntropy(logits, target, { weight, reduction: o.reduction }),
  cross_entropy_ignore_index_none: ({ logits, target }, o) =>
    crossEntropy(logits, target, { ignoreIndex: o.ignore_index, reduction: o.reduction }),
  cross_entropy_ignore_index_mean_smoothing: ({ logits, target }, o) =>
    crossEntropy(logits, target, { ignoreIndex: o.ignore_index, labelSmoothing: o.label_smoothing }),
  cross_entropy_probabilities: ({ logits, target }, o) =>
    crossEntropy(logits, target, { labelSmoothing: o.label_smoothing }),
  cross_entropy_spatial: ({ logits, target }) => crossEntropy(logits, target),
  nll_loss: ({ x, target }) => nllLoss(x, target),
  mse_loss: ({ a, b }) => mseLoss(a, b),
  mse_loss_sum: ({ a, b }, o) => mseLoss(a, b, o.reduction),
  grid_sample_bilinear: ({ x, grid }) => gridSample(x, grid, { alignCorners: false }),
  grid_sample_nearest_border: ({ x, grid }, o) =>
    gridSample(x, grid, { mode: o.mode, paddingMode: o.padding_mode, alignCorners: false }),
  grid_sample_bilinear_reflection_align: ({ x, grid }, o) =>
    gridSample(x, grid, { paddingMode: o.padding_mode, alignCorners: o.align_corners }),
  grid_sample_bicubic: ({ x, grid }, o) => gridSample(x, grid, { mode: o.mode, alignCorners: false }),
  interpolate_bilinear_up: ({ x }, o) => interpolate(x, o.size, { mode: 'bilinear', alignCorners: false }),
  interpolate_bilinear_down_align_corners: ({ x }, o) =>
    interpolate(x, o.size, { mode: 'bilinear', alignCorners: true }),
  interpolate_nearest_up: ({ x }, o) => interpolate(x, o.size, { mode: 'nearest' }),
  interpolate_nearest_down: ({ x }, o) => interpolate(x, o.size, { mode: 'nearest' }),
  pad_constant: ({ x }, o) => pad(x, o.pad, { value: o.value }),
  pad_constant_negative_crop: ({ x }, o) => pad(x, o.pad),
  pad_reflect: ({ x }, o) => pad(x, o.pad, { mode: 'reflect' }),
  pad_replicate: ({ x }, o) => pad(x, o.pad, { mode: 'replicate' }),
  pad_circular: ({ x }, o) => pad(x, o.pad, { mode: 'circular' }),

  // ---- float64, integer and dtype-promotion cases ----
  add_float64: ({ a, b }) => a.add(b),
  mul_int64: ({ a, b }) => a.mul(b),
  add_int64_scalar: ({ a }, o) => a.add(o.value),
  add_int32: ({ a, b }) => a.add(b),
  mul_uint8_wraps: ({ a, b }) => a.mul(b),
  add_int32_int64: ({ a, b }) => a.add(b),
  add_float32_int64: ({ a, b }) => a.add(b),
  add_float32_float64: ({ a, b }) => a.add(b),
  mul_int64_float_scalar: ({ a }, o) => a.mul(o.value),
  add_bool_int64: ({ a, b }) => a.add(b),
  add_float32_zerodim_float64: ({ a, b }) => a.add(b),
  add_int64_zerodim_float32: ({ a, b }) => a.add(b),
  div_int64_true: ({ a, b }) => a.div(b),
  div_int64_floor: ({ a, b }) => a.div(b, 'floor'),
  matmul_float64: ({ a, b }) => a.matmul(b),
  softmax_float64: ({ x }, o) => softmax(x, o.dim),
  sum_float64_dim: ({ x }, o) => x.sum(o.dim),
  exp_float64: ({ x }) => x.exp(),
  sort_float64: ({ x }) => vi(x.sort()),
  var_float64: ({ x }, o) => x.var(o.dim),
  pow_int64_scalar: ({ a }, o) => a.pow(o.exponent),
  pow_float32_float64: ({ a, b }) => a.pow(b),
  matmul_int64: ({ a, b }) => a.matmul(b),
  maximum_float32_int64: ({ a, b }) => a.maximum(b),
  lt_float32_int64: ({ a, b }) => a.lt(b),
  clamp_int64: ({ x }, o) => x.clamp(o.min, o.max),
  clamp_int64_float_bound: ({ x }, o) => x.clamp(o.min),
  cumsum_int32: ({ x }, o) => x.cumsum(o.dim),
  div_int64_scalar: ({ a }, o) => a.div(o.value),
  div_int64_scalar_floor: ({ a }, o) => a.div(o.value, 'floor'),
  remainder_int64_negative: ({ a, b }) => a.remainder(b),
  mul_bool: ({ a, b }) => a.mul(b),
  abs_int64: ({ x }) => x.abs(),
  where_both_scalars: ({ c }, o) => where(c, o.x, o.y),
  sigmoid_float64: ({ x }) => x.sigmoid(),
  cross_entropy_float64: ({ logits, target }, o) => crossEntropy(logits, target, { labelSmoothing: o.label_smoothing }),
  linear_float64: ({ x, w, b }) => linear(x, w, b),
  batch_norm_train_float64: ({ x, w, b, rm, rv }, o) => [
    batchNorm(x, rm, rv, { weight: w, bias: b, training: true, momentum: o.momentum, eps: o.eps }),
    rm,
    rv,
  ],
  grid_sample_float64: ({ x, grid }) => gridSample(x, grid, { alignCorners: false }),
  interpolate_bilinear_float64: ({ x }, o) => interpolate(x, o.size, { mode: 'bilinear', alignCorners: false }),

  // ---- more creation, indexing, view and in-place edge cases ----
  tensor_nested_array: (_, o) => tensor(o.data),
  tensor_nested_bool: (_, o) => tensor(o.data),
  tensor_nested_to_int64: (_, o) => tensor(o.data, { dtype: 'int64' }),
  arange_fractional_step: (_, o) => arange(o.start, o.end, o.step),
  eye_int64: (_, o) => eye(o.n, undefined, { dtype: 'int64' }),
  scalar_tensor_bool: (_, o) => scalarTensor(o.value),
  index_newaxis_last: ({ x }) => x.index({}, null),
  index_tensor_then_int: ({ x, idx }) => x.index(idx, 1),
  index_step_slice_negative_start: ({ x }) => x.index({ start: -3, step: 2 }),
  index_put_slice_and_tensor: ({ x, idx, v }) => x.clone().indexPut_([{}, idx], v),
  inplace_on_view: ({ x, b }) => {
    const y = x.clone();
    y.narrow(1, 1, 2).mul_(b);
    return y;
  },
  narrow_negative_start: ({ x }) => x.narrow(1, -3, 2),
  permute_negative_dims: ({ x }) => x.permute(-1, 0, 1),
  transpose_negative_dims: ({ x }) => x.transpose(-1, -3),
  gather_negative_dim: ({ x, idx }) => x.gather(-1, idx),
  stack_zero_dim: ({ a, b, c }) => stack([a, b, c]),
  expand_zero_dim: ({ x }) => x.expand(2, 3),
  squeeze_non_unit_dim: ({ x }) => x.squeeze(1),
  repeat_interleave_flat: ({ x }) => x.repeatInterleave(2),
  einsum_ellipsis_transpose: ({ a }) => einsum('...ij->...ji', a),
  matmul_vector_batched: ({ a, b }) => a.matmul(b),
  linear_1d_input: ({ x, w, b }) => linear(x, w, b),
  sort_stable_ties: ({ x }, o) => vi(x.sort(o.dim, { stable: true })),
  sum_dim_dtype_float64: ({ x }, o) => x.sum(o.dim, { dtype: 'float64' }),
  std_population_dim: ({ x }, o) => x.std(o.dim, { correction: o.correction }),
  prod_dim_keepdim: ({ x }, o) => x.prod(o.dim, { keepdim: o.keepdim }),
  softmax_with_neg_inf: ({ x }, o) => softmax(x, o.dim),
  log_softmax_float64_dim0: ({ x }, o) => logSoftmax(x, o.dim),
  normalize_zero_row: ({ x }) => normalize(x),
  mean_dims_keepdim_float64: ({ x }, o) => x.mean(o.dim, { keepdim: o.keepdim }),
  max_pool2d_dilation: ({ x }, o) => maxPool2d(x, o.kernel_size, { stride: o.stride, dilation: o.dilation }),
  avg_pool2d_padding_include_pad: ({ x }, o) => avgPool2d(x, o.kernel_size, { stride: o.stride, padding: o.padding }),
  adaptive_avg_pool2d_upsample: ({ x }, o) => adaptiveAvgPool2d(x, o.output_size),
  batch_norm_eval_no_affine: ({ x, rm, rv }) => batchNorm(x, rm, rv, { training: false }),
  nll_loss_ignore_index_sum: ({ x, target }, o) =>
    nllLoss(x, target, { ignoreIndex: o.ignore_index, reduction: o.reduction }),
  cross_entropy_weight_smoothing_mean: ({ logits, target, weight }, o) =>
    crossEntropy(logits, target, { weight, labelSmoothing: o.label_smoothing }),
  mse_loss_none_broadcast_free: ({ a, b }, o) => mseLoss(a, b, o.reduction),
  grid_sample_defaults: ({ x, grid }) => gridSample(x, grid),
  interpolate_bicubic: ({ x }, o) => interpolate(x, o.size, { mode: 'bicubic', alignCorners: false }),
  interpolate_bilinear_antialias_down: ({ x }, o) =>
    interpolate(x, o.size, { mode: 'bilinear', alignCorners: false, antialias: true }),
  pad_reflect_1d: ({ x }, o) => pad(x, o.pad, { mode: 'reflect' }),
  norm_inf_dim: ({ x }, o) => x.norm(Infinity, o.dim),
  where_scalar_self: ({ c, b }, o) => where(c, o.value, b),
  dropout_p0_training: ({ x }, o) => dropout(x, o.p, true),
};

// ---- building inputs and comparing -----------------------------------------------------------

function num(v: Value): number {
  if (typeof v === 'number') return v;
  if (v === 'nan') return NaN;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  throw new Error(`fixture: bad number ${JSON.stringify(v)}`);
}

function typedArray(spec: TensorSpec): ArrayBufferView {
  const d = spec.data;
  switch (spec.dtype) {
    case 'float32':
      return Float32Array.from(d, num);
    case 'float64':
      return Float64Array.from(d, num);
    case 'int64':
      return BigInt64Array.from(d, (v) => BigInt(num(v)));
    case 'int32':
      return Int32Array.from(d, num);
    case 'int16':
      return Int16Array.from(d, num);
    case 'int8':
      return Int8Array.from(d, num);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(d, num);
    default:
      throw new Error(`fixture: unsupported dtype ${spec.dtype}`);
  }
}

function build(spec: TensorSpec): Tensor {
  return tensor(typedArray(spec), { shape: spec.shape, dtype: spec.dtype, requiresGrad: spec.requires_grad ?? false });
}

function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

/** Throws (failing the test) unless `actual` matches `expected` in shape, dtype and values. */
function compare(actual: Tensor, expected: TensorSpec, what: string): void {
  expect({ what, shape: actual.shape, dtype: actual.dtype }).toEqual({
    what,
    shape: expected.shape,
    dtype: expected.dtype,
  });
  const got = actual.data();
  expect(got.length).toBe(expected.data.length);
  const tol = TOLERANCE[expected.dtype];
  const bad: string[] = [];
  let worst = 0;
  for (let k = 0; k < got.length; k++) {
    // float32 data is written with the fewest digits that read back to the float32: round it back.
    const want = expected.dtype === 'float32' ? Math.fround(num(expected.data[k])) : num(expected.data[k]);
    let ok: boolean;
    if (isFloat(expected.dtype) && tol) {
      const a = Number(got[k]);
      if (Number.isNaN(want)) ok = Number.isNaN(a);
      else if (!Number.isFinite(want)) ok = a === want;
      else {
        const err = Math.abs(a - want);
        worst = Math.max(worst, err / (tol.atol + tol.rtol * Math.abs(want)));
        ok = err <= tol.atol + tol.rtol * Math.abs(want);
      }
    } else if (expected.dtype === 'int64') {
      ok = got[k] === BigInt(want);
    } else {
      ok = Number(got[k]) === want;
    }
    if (!ok) bad.push(`[${k}] unmix ${String(got[k])} vs torch ${want}`);
  }
  if (bad.length) {
    const tolText = tol
      ? `rtol ${tol.rtol}, atol ${tol.atol}; worst error ${worst.toPrecision(3)}x tolerance`
      : 'exact';
    throw new Error(
      `${what}: ${bad.length} of ${got.length} ${expected.dtype} elements differ from PyTorch (${tolText}):\n  ` +
        bad.slice(0, 12).join('\n  ') +
        (bad.length > 12 ? `\n  ... and ${bad.length - 12} more` : ''),
    );
  }
}

function runCase(c: Case): void {
  const fn = OPS[c.name];
  if (!fn) throw new Error(`fixture case '${c.name}' has no unmix mapping in the OPS table of test/parity.test.ts`);
  scope(() => {
    const inputs: Inputs = {};
    for (const [key, spec] of Object.entries(c.inputs)) inputs[key] = build(spec);
    const result = fn(inputs, c.options);
    const outs = Array.isArray(result) ? result : [result];
    expect(outs.length).toBe(c.outputs.length);
    c.outputs.forEach((spec, k) => {
      compare(outs[k], spec, `output ${k}`);
      expect({ output: k, requiresGrad: outs[k].requiresGrad }).toEqual({
        output: k,
        requiresGrad: spec.requires_grad,
      });
    });

    let loss: Tensor | null = null;
    for (let k = 0; k < outs.length; k++) {
      const g = c.outputs[k].g;
      if (!g) continue;
      const term = outs[k].mul(build(g)).sum();
      loss = loss === null ? term : loss.add(term);
    }
    if (loss !== null) loss.backward();

    for (const [key, want] of Object.entries(c.grads)) {
      const got = inputs[key].grad;
      if (want === null) {
        expect({ gradOf: key, grad: got === null ? null : 'defined' }).toEqual({ gradOf: key, grad: null });
      } else {
        expect({ gradOf: key, grad: got === null ? null : 'defined' }).toEqual({ gradOf: key, grad: 'defined' });
        compare(got as Tensor, want, `grad of ${key}`);
      }
    }
  });
}

describe(`parity with PyTorch ${fixture.torch} (${path.relative(path.join(__dirname, '..'), FIXTURE)})`, () => {
  test('the fixture and the OPS table cover the same cases, over at least 70 ops', () => {
    const names = fixture.cases.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(Object.keys(OPS).filter((n) => !names.includes(n))).toEqual([]);
    expect(names.filter((n) => !(n in OPS))).toEqual([]);
    expect(new Set(fixture.cases.map((c) => c.op)).size).toBeGreaterThanOrEqual(70);
  });

  test.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => runCase(c));
});
