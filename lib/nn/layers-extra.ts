// More torch.nn layers with PyTorch's parameter names, default init and printed options:
// Dropout, MaxPool2d, AvgPool2d, LayerNorm, GELU, Embedding.
import * as F from '../functional';
import { noGrad } from '../autograd';
import { call } from '../dispatch';
import { ones, randn, zeros } from '../creation';
import { Tensor } from '../tensor';
import type { LayerOptions } from './layers';
import { Module } from './module';
import { printsNormBias, pyBool, pyFloat, pyIntOrTuple, pyTuple } from './repr';
import * as is from '../validate';

type Pair = number | [number, number];

/** Zeroes each element with probability p in training and scales the rest by 1/(1 − p); the identity in eval. */
export class Dropout extends Module {
  constructor(
    readonly p = 0.5,
    readonly options: { inplace?: boolean } = {},
  ) {
    super();
    is.probability('Dropout', 'p', p);
  }
  forward(x: Tensor): Tensor {
    return this.options.inplace
      ? (call('dropout_', [x, this.p, this.training]) as Tensor)
      : F.dropout(x, this.p, this.training);
  }
  extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=${pyBool(this.options.inplace ?? false)}`;
  }
}

export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly options: { stride?: Pair; padding?: Pair; dilation?: Pair; ceilMode?: boolean } = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.options);
  }
  extraRepr(): string {
    const { stride = this.kernelSize, padding = 0, dilation = 1, ceilMode = false } = this.options;
    return `kernel_size=${pyIntOrTuple(this.kernelSize)}, stride=${pyIntOrTuple(stride)}, padding=${pyIntOrTuple(padding)}, dilation=${pyIntOrTuple(dilation)}, ceil_mode=${pyBool(ceilMode)}`;
  }
}

export class AvgPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly options: { stride?: Pair; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean } = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, this.options);
  }
  extraRepr(): string {
    const { stride = this.kernelSize, padding = 0 } = this.options;
    return `kernel_size=${pyIntOrTuple(this.kernelSize)}, stride=${pyIntOrTuple(stride)}, padding=${pyIntOrTuple(padding)}`;
  }
}

/** Normalises over the last dims (`normalizedShape`); weight 1 and bias 0 when elementwiseAffine, as torch.nn.LayerNorm. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  constructor(
    normalizedShape: number | number[],
    options: LayerOptions & { eps?: number; elementwiseAffine?: boolean; bias?: boolean } = {},
  ) {
    super();
    this.normalizedShape = Array.isArray(normalizedShape) ? [...normalizedShape] : [normalizedShape];
    if (!this.normalizedShape.every((n) => Number.isInteger(n) && n > 0))
      throw new RangeError(
        `LayerNorm: normalizedShape must be positive integers, got [${this.normalizedShape.join(', ')}]`,
      );
    this.eps = options.eps ?? 1e-5;
    const affine = options.elementwiseAffine ?? true;
    const device = options.device;
    this.registerParameter('weight', affine ? ones(this.normalizedShape, { device }) : null);
    this.registerParameter('bias', affine && options.bias !== false ? zeros(this.normalizedShape, { device }) : null);
  }
  get weight(): Tensor | null {
    return this.param('weight');
  }
  get bias(): Tensor | null {
    return this.param('bias');
  }
  forward(x: Tensor): Tensor {
    const n = this.normalizedShape.length;
    if (x.ndim < n || x.shape.slice(-n).join() !== this.normalizedShape.join()) {
      throw new Error(`LayerNorm: expected input [*, ${this.normalizedShape.join(', ')}], got [${x.shape.join(', ')}]`);
    }
    return call('layer_norm', [x, this.normalizedShape, this.weight, this.bias, this.eps]) as Tensor;
  }
  extraRepr(): string {
    const bias = printsNormBias() ? `, bias=${pyBool(this.bias !== null)}` : '';
    return `${pyTuple(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyBool(this.weight !== null)}${bias}`;
  }
}

/** x·Φ(x) ('none'), or its tanh approximation ('tanh'), as torch.nn.GELU. */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';
  constructor(options: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    this.approximate = options.approximate ?? 'none';
    if (this.approximate !== 'none' && this.approximate !== 'tanh')
      throw new RangeError(`GELU: approximate must be 'none' or 'tanh', got ${String(this.approximate)}`);
  }
  forward(x: Tensor): Tensor {
    return call('gelu', [x], { approximate: this.approximate }) as Tensor;
  }
  extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/** A lookup table of `numEmbeddings` rows of size `embeddingDim`, N(0, 1) init; the paddingIdx row starts at 0 and gets no gradient. */
export class Embedding extends Module {
  readonly paddingIdx: number | null;
  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    options: LayerOptions & { paddingIdx?: number } = {},
  ) {
    super();
    is.positiveInt('Embedding', 'numEmbeddings', numEmbeddings);
    is.positiveInt('Embedding', 'embeddingDim', embeddingDim);
    const pad = options.paddingIdx;
    if (pad !== undefined && !(Number.isInteger(pad) && pad >= -numEmbeddings && pad < numEmbeddings)) {
      throw new RangeError(
        `Embedding: paddingIdx must be an integer in [-${numEmbeddings}, ${numEmbeddings}), got ${pad}`,
      );
    }
    this.paddingIdx = pad === undefined ? null : pad < 0 ? pad + numEmbeddings : pad;
    const weight = randn([numEmbeddings, embeddingDim], { device: options.device });
    if (this.paddingIdx !== null) noGrad(() => weight.index(this.paddingIdx!).zero_());
    this.registerParameter('weight', weight);
  }
  get weight(): Tensor {
    return this.param('weight')!;
  }
  /** Rows of the table for integer `indices` of any shape: [...indices.shape, embeddingDim]. */
  forward(indices: Tensor): Tensor {
    if (indices.dtype !== 'int64' && indices.dtype !== 'int32')
      throw new TypeError(`Embedding: indices must be int64 or int32, got ${indices.dtype}`);
    return call('embedding', [this.weight, indices, this.paddingIdx ?? -1]) as Tensor;
  }
  extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`;
  }
}
