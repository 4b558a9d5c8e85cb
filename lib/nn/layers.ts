// Basic layers with PyTorch's parameter names, shapes and default initialisation.
import * as F from '../functional';
import { noGrad } from '../autograd';
import { scope } from '../memory';
import { full, ones, rand, zeros } from '../creation';
import { Device, Tensor } from '../tensor';
import { Module } from './module';
import { printsNormBias, pyBool, pyFloat } from './repr';
import * as is from '../validate';

export interface LayerOptions {
  device?: Device;
}

/** Uniform on [-bound, bound). */
function uniform(shape: number[], bound: number, device?: Device): Tensor {
  return noGrad(() =>
    rand(shape, { device })
      .mul_(2 * bound)
      .sub_(bound),
  );
}

/** y = x Wᵀ + b; weight and bias uniform on ±1/√in_features, as torch.nn.Linear. */
export class Linear extends Module {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LayerOptions & { bias?: boolean } = {},
  ) {
    super();
    is.positiveInt('Linear', 'inFeatures', inFeatures); // 0 would make the bias NaN (bound 1/√0)
    is.nonNegativeInt('Linear', 'outFeatures', outFeatures);
    const bound = 1 / Math.sqrt(inFeatures);
    this.registerParameter('weight', uniform([outFeatures, inFeatures], bound, options.device));
    this.registerParameter('bias', options.bias === false ? null : uniform([outFeatures], bound, options.device));
  }
  get weight(): Tensor {
    return this.param('weight')!;
  }
  get bias(): Tensor | null {
    return this.param('bias');
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
  extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}

export interface BatchNormOptions extends LayerOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/** Batch normalisation over the channel dimension (dim 1), as torch.nn.BatchNorm1d/2d. */
export class BatchNorm extends Module {
  readonly eps: number;
  readonly momentum: number;
  constructor(
    readonly numFeatures: number,
    private readonly expectedDims: number[],
    options: BatchNormOptions = {},
  ) {
    super();
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    const owner = this.constructor.name;
    is.positiveInt(owner, 'numFeatures', numFeatures);
    is.positive(owner, 'eps', this.eps);
    is.probability(owner, 'momentum', this.momentum);
    const device = options.device;
    const affine = options.affine ?? true;
    this.registerParameter('weight', affine ? ones([numFeatures], { device }) : null);
    this.registerParameter('bias', affine ? zeros([numFeatures], { device }) : null);
    const track = options.trackRunningStats ?? true;
    this.registerBuffer('running_mean', track ? zeros([numFeatures], { device }) : null);
    this.registerBuffer('running_var', track ? ones([numFeatures], { device }) : null);
    this.registerBuffer('num_batches_tracked', track ? full([], 0, { dtype: 'int64', device }) : null);
  }
  get weight(): Tensor | null {
    return this.param('weight');
  }
  get bias(): Tensor | null {
    return this.param('bias');
  }
  get runningMean(): Tensor | null {
    return this.buffer('running_mean');
  }
  get runningVar(): Tensor | null {
    return this.buffer('running_var');
  }
  extraRepr(): string {
    const bias = printsNormBias() ? `, bias=${pyBool(this.bias !== null)}` : '';
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${pyFloat(this.momentum)}, affine=${pyBool(this.weight !== null)}${bias}, track_running_stats=${pyBool(this.runningMean !== null)}`;
  }
  forward(x: Tensor): Tensor {
    if (!this.expectedDims.includes(x.ndim)) {
      throw new Error(
        `${this.constructor.name}: expected ${this.expectedDims.join('-d or ')}-d input, got ${x.ndim}-d`,
      );
    }
    const useBatchStats = this.training || !this.runningMean;
    if (this.training) {
      const tracked = this.buffer('num_batches_tracked');
      if (tracked) noGrad(() => tracked.add_(1));
    }
    return F.batchNorm(
      x,
      useBatchStats && !this.training ? null : this.runningMean,
      useBatchStats && !this.training ? null : this.runningVar,
      {
        weight: this.weight,
        bias: this.bias,
        training: useBatchStats,
        momentum: this.momentum,
        eps: this.eps,
      },
    );
  }
}

export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, [2, 3], options);
  }
}

export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, [4], options);
  }
}

/**
 * BatchNorm2d over interleaved splits of the batch, as the MoCo CIFAR demo's SplitBatchNorm
 * (emulating per-GPU BN on one device): in training the input [N, C, H, W] is viewed as
 * [N/S, C·S, H, W], so split s holds samples s, s+S, s+2S, ...; each split's running statistics
 * are updated with momentum, then running_mean/var become the mean over the S copies. In eval it
 * is plain BatchNorm2d. num_batches_tracked is not advanced in training, as in the reference.
 */
export class SplitBatchNorm2d extends BatchNorm2d {
  constructor(
    numFeatures: number,
    readonly numSplits: number,
    options: BatchNormOptions = {},
  ) {
    super(numFeatures, options);
    is.positiveInt('SplitBatchNorm2d', 'numSplits', numSplits);
  }
  extraRepr(): string {
    return super.extraRepr().replace(/^(\d+)/, `$1, num_splits=${this.numSplits}`);
  }
  forward(x: Tensor): Tensor {
    if (!this.training && this.runningMean) return super.forward(x);
    if (x.ndim !== 4) throw new Error(`SplitBatchNorm2d: expected 4-d input, got ${x.ndim}-d`);
    const [n, c, h, w] = x.shape;
    const s = this.numSplits;
    if (n % s !== 0) throw new Error(`SplitBatchNorm2d: batch size ${n} is not a multiple of the ${s} splits`);
    // The tiled statistics and parameters are temporaries: the scope frees all but the output.
    const out = scope(() => {
      const mean = this.runningMean?.repeat(s) ?? null;
      const variance = this.runningVar?.repeat(s) ?? null;
      // The split view needs the NCHW layout; a channels_last input is copied and its layout restored after.
      const channelsLast = !x.isContiguous() && x.isContiguous('channels_last');
      const normalized = F.batchNorm(x.reshape([-1, c * s, h, w]), mean, variance, {
        weight: this.weight?.repeat(s) ?? null,
        bias: this.bias?.repeat(s) ?? null,
        training: true,
        momentum: this.momentum,
        eps: this.eps,
      }).view(n, c, h, w);
      const result = channelsLast ? normalized.contiguous('channels_last') : normalized;
      noGrad(() => {
        if (mean && variance) {
          this.runningMean!.copy_(mean.view(s, c).mean(0));
          this.runningVar!.copy_(variance.view(s, c).mean(0));
        }
      });
      return result;
    });
    return out;
  }
}

/** 2-d convolution with torch.nn.Conv2d's parameters and default init (uniform ±1/√fan_in). */
export class Conv2d extends Module {
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    readonly options: LayerOptions & {
      stride?: number;
      padding?: number;
      dilation?: number;
      groups?: number;
      bias?: boolean;
    } = {},
  ) {
    super();
    const groups = options.groups ?? 1;
    is.positiveInt('Conv2d', 'inChannels', inChannels);
    is.positiveInt('Conv2d', 'outChannels', outChannels);
    is.positiveInt('Conv2d', 'kernelSize', kernelSize);
    is.positiveInt('Conv2d', 'groups', groups);
    if (inChannels % groups || outChannels % groups)
      throw new RangeError(
        `Conv2d: inChannels ${inChannels} and outChannels ${outChannels} must be multiples of groups ${groups}`,
      );
    is.positiveInt('Conv2d', 'stride', options.stride ?? 1);
    is.nonNegativeInt('Conv2d', 'padding', options.padding ?? 0);
    is.positiveInt('Conv2d', 'dilation', options.dilation ?? 1);
    const bound = 1 / Math.sqrt((inChannels / groups) * kernelSize * kernelSize);
    this.registerParameter(
      'weight',
      uniform([outChannels, inChannels / groups, kernelSize, kernelSize], bound, options.device),
    );
    this.registerParameter('bias', options.bias === false ? null : uniform([outChannels], bound, options.device));
  }
  get weight(): Tensor {
    return this.param('weight')!;
  }
  get bias(): Tensor | null {
    return this.param('bias');
  }
  forward(x: Tensor): Tensor {
    const { stride = 1, padding = 0, dilation = 1, groups = 1 } = this.options;
    return F.conv2d(x, this.weight, { bias: this.bias, stride, padding, dilation, groups });
  }
  /** As torch.nn.Conv2d's: sizes as pairs, options shown only when not the default. */
  extraRepr(): string {
    const { stride = 1, padding = 0, dilation = 1, groups = 1 } = this.options;
    const pair = (v: number) => `(${v}, ${v})`;
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pair(this.kernelSize)}, stride=${pair(stride)}`;
    if (padding !== 0) s += `, padding=${pair(padding)}`;
    if (dilation !== 1) s += `, dilation=${pair(dilation)}`;
    if (groups !== 1) s += `, groups=${groups}`;
    if (this.bias === null) s += ', bias=False';
    return s;
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
  extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** Runs its children in order; they are named '0', '1', ... as in torch.nn.Sequential. */
export class Sequential extends Module {
  private readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((layer, i) => this.registerModule(String(i), layer));
  }
  get length(): number {
    return this.layers.length;
  }
  at(index: number): Module {
    return this.layers[index < 0 ? index + this.layers.length : index];
  }
  forward(x: Tensor): Tensor {
    let out = x;
    for (const layer of this.layers) {
      const next = layer.forward(out);
      if (out !== x && next !== out) out.dispose(); // intermediate activations are owned here
      out = next;
    }
    return out;
  }
}

/**
 * A projection/prediction head: Linear layers of the given sizes with BatchNorm1d and ReLU
 * between them (none after the last), e.g. mlp([512, 2048, 128]) for SimCLR/BYOL-style heads.
 * Hidden Linears have no bias before a BatchNorm unless `hiddenBias` (torch.nn defaults, as solo-learn).
 */
export function mlp(
  sizes: number[],
  options: LayerOptions & { batchNorm?: boolean; hiddenBias?: boolean; lastBias?: boolean } = {},
): Sequential {
  if (sizes.length < 2) throw new RangeError('mlp: give at least an input and an output size');
  const layers: Module[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const last = i + 2 === sizes.length;
    layers.push(
      new Linear(sizes[i], sizes[i + 1], {
        device: options.device,
        bias: last ? (options.lastBias ?? true) : (options.hiddenBias ?? !(options.batchNorm ?? true)),
      }),
    );
    if (!last) {
      if (options.batchNorm ?? true) layers.push(new BatchNorm1d(sizes[i + 1], { device: options.device }));
      layers.push(new ReLU());
    }
  }
  return new Sequential(...layers);
}
