// Basic layers with PyTorch's parameter names, shapes and default initialisation.
import * as F from '../functional';
import { noGrad } from '../autograd';
import { full, ones, rand, zeros } from '../creation';
import { Device, Tensor } from '../tensor';
import { Module } from './module';

export interface LayerOptions {
  device?: Device;
}

/** Uniform on [-bound, bound). */
function uniform(shape: number[], bound: number, device?: Device): Tensor {
  return noGrad(() => rand(shape, { device }).mul_(2 * bound).sub_(bound));
}

/** y = x Wᵀ + b; weight and bias uniform on ±1/√in_features, as torch.nn.Linear. */
export class Linear extends Module {
  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LayerOptions & { bias?: boolean } = {}) {
    super();
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
  constructor(readonly numFeatures: number, private readonly expectedDims: number[], options: BatchNormOptions = {}) {
    super();
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
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
  forward(x: Tensor): Tensor {
    if (!this.expectedDims.includes(x.ndim)) {
      throw new Error(`${this.constructor.name}: expected ${this.expectedDims.join('-d or ')}-d input, got ${x.ndim}-d`);
    }
    const useBatchStats = this.training || !this.runningMean;
    if (this.training) {
      const tracked = this.buffer('num_batches_tracked');
      if (tracked) noGrad(() => tracked.add_(1));
    }
    return F.batchNorm(x, useBatchStats && !this.training ? null : this.runningMean, useBatchStats && !this.training ? null : this.runningVar, {
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum: this.momentum,
      eps: this.eps,
    });
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
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
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
 */
export function mlp(sizes: number[], options: LayerOptions & { batchNorm?: boolean; lastBias?: boolean } = {}): Sequential {
  if (sizes.length < 2) throw new RangeError('mlp: give at least an input and an output size');
  const layers: Module[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const last = i + 2 === sizes.length;
    layers.push(new Linear(sizes[i], sizes[i + 1], { device: options.device, bias: last ? options.lastBias ?? true : !(options.batchNorm ?? true) }));
    if (!last) {
      if (options.batchNorm ?? true) layers.push(new BatchNorm1d(sizes[i + 1], { device: options.device }));
      layers.push(new ReLU());
    }
  }
  return new Sequential(...layers);
}
