// The ResNet family with torchvision's structure, parameter names (conv1.weight,
// layer1.0.bn1.running_mean, layer2.0.downsample.0.weight, fc.bias, ...) and initialisation, so
// state dicts load both ways; plus the CIFAR stems of the reference code.
import { noGrad } from '../autograd';
import * as F from '../functional';
import { randn } from '../creation';
import { scope } from '../memory';
import { Device, Tensor } from '../tensor';
import { BatchNorm2d, BatchNormOptions, Conv2d, Linear, SplitBatchNorm2d } from './layers';
import { Module } from './module';
import * as is from '../validate';

export type BlockKind = 'basic' | 'bottleneck';
/** imagenet: 7×7/2 + max pool; cifar: 3×3/1, no pool; swav-cifar: zero pad 1, then 3×3/1 (34×34 maps). */
export type Stem = 'imagenet' | 'cifar' | 'swav-cifar';

export interface ResNetOptions {
  block: BlockKind;
  layers: number[];
  stem?: Stem;
  /** Classifier outputs; 0 (default) ends at the pooled features. */
  numClasses?: number;
  /** torchvision's width_per_group: the inner width of Bottleneck blocks (64 default) */
  baseWidth?: number;
  /** channels of the stem and the first stage (64 default; stage i has width·2^i): narrow nets for quick runs */
  width?: number;
  /** The last BN of each block starts at 0, so blocks start as identities. */
  zeroInitResidual?: boolean;
  /** >1: SplitBatchNorm2d with this many interleaved splits (the MoCo CIFAR demo uses 8). */
  bnSplits?: number;
  /** 'default': conv1 keeps torch.nn.Conv2d's default init, as the MoCo demo's replaced conv1. */
  stemInit?: 'kaiming' | 'default';
  /** Run in channels_last (NHWC) memory format: the input and the convolution weights are converted. */
  channelsLast?: boolean;
  device?: Device;
}

type NormFactory = (channels: number) => BatchNorm2d;

/** torchvision's downsample: Sequential(conv1x1, BN), registered as downsample.0 / downsample.1. */
class Downsample extends Module {
  constructor(
    readonly conv: Conv2d,
    readonly bn: BatchNorm2d,
  ) {
    super();
    this.registerModule('0', conv);
    this.registerModule('1', bn);
  }
  protected reprName(): string {
    return 'Sequential'; // torchvision's downsample is an nn.Sequential
  }
  forward(x: Tensor): Tensor {
    return scope(() => this.bn.forward(this.conv.forward(x)));
  }
}

abstract class Block extends Module {
  downsample: Downsample | null = null;
  abstract lastBn(): BatchNorm2d;
  setDownsample(d: Downsample): void {
    this.downsample = this.registerModule('downsample', d);
  }
}

class BasicBlock extends Block {
  static readonly expansion = 1;
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm2d;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm2d;
  constructor(inplanes: number, planes: number, stride: number, norm: NormFactory, device?: Device) {
    super();
    this.conv1 = this.registerModule(
      'conv1',
      new Conv2d(inplanes, planes, 3, { stride, padding: 1, bias: false, device }),
    );
    this.bn1 = this.registerModule('bn1', norm(planes));
    this.conv2 = this.registerModule('conv2', new Conv2d(planes, planes, 3, { padding: 1, bias: false, device }));
    this.bn2 = this.registerModule('bn2', norm(planes));
  }
  lastBn(): BatchNorm2d {
    return this.bn2;
  }
  forward(x: Tensor): Tensor {
    return scope(() => {
      const out = this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu_()));
      return out.add_(this.downsample ? this.downsample.forward(x) : x).relu_();
    });
  }
}

class Bottleneck extends Block {
  static readonly expansion = 4;
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm2d;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm2d;
  private readonly conv3: Conv2d;
  private readonly bn3: BatchNorm2d;
  constructor(inplanes: number, planes: number, stride: number, norm: NormFactory, baseWidth: number, device?: Device) {
    super();
    const width = Math.floor(planes * (baseWidth / 64));
    this.conv1 = this.registerModule('conv1', new Conv2d(inplanes, width, 1, { bias: false, device }));
    this.bn1 = this.registerModule('bn1', norm(width));
    this.conv2 = this.registerModule('conv2', new Conv2d(width, width, 3, { stride, padding: 1, bias: false, device }));
    this.bn2 = this.registerModule('bn2', norm(width));
    this.conv3 = this.registerModule('conv3', new Conv2d(width, planes * 4, 1, { bias: false, device }));
    this.bn3 = this.registerModule('bn3', norm(planes * 4));
  }
  lastBn(): BatchNorm2d {
    return this.bn3;
  }
  forward(x: Tensor): Tensor {
    return scope(() => {
      let out = this.bn1.forward(this.conv1.forward(x)).relu_();
      out = this.bn2.forward(this.conv2.forward(out)).relu_();
      out = this.bn3.forward(this.conv3.forward(out));
      return out.add_(this.downsample ? this.downsample.forward(x) : x).relu_();
    });
  }
}

class Layer extends Module {
  constructor(readonly blocks: Block[]) {
    super();
    blocks.forEach((b, i) => this.registerModule(String(i), b));
  }
  protected reprName(): string {
    return 'Sequential'; // torchvision's layerN is an nn.Sequential
  }
  forward(x: Tensor): Tensor {
    let out = x;
    for (const b of this.blocks) {
      const next = b.forward(out);
      if (out !== x) out.dispose();
      out = next;
    }
    return out;
  }
}

export class ResNet extends Module {
  readonly featureDim: number;
  private readonly stem: Stem;
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm2d;
  private readonly layers: Layer[];
  readonly fc: Linear | null;

  constructor(readonly options: ResNetOptions) {
    super();
    const {
      block,
      layers,
      stem = 'imagenet',
      numClasses = 0,
      baseWidth = 64,
      width = 64,
      bnSplits = 1,
      device,
    } = options;
    is.oneOf('ResNet', 'block', block, ['basic', 'bottleneck']);
    if (!Array.isArray(layers) || !layers.length)
      throw new TypeError(`ResNet: layers must be a non-empty list of block counts, got ${is.shown(layers)}`);
    layers.forEach((n, i) => is.positiveInt('ResNet', `layers[${i}]`, n));
    is.oneOf('ResNet', 'stem', stem, ['imagenet', 'cifar', 'swav-cifar']);
    is.nonNegativeInt('ResNet', 'numClasses', numClasses);
    is.positiveInt('ResNet', 'baseWidth', baseWidth);
    is.positiveInt('ResNet', 'width', width);
    is.positiveInt('ResNet', 'bnSplits', bnSplits);
    this.stem = stem;
    const bnOptions: BatchNormOptions = { device };
    const norm: NormFactory = (c) =>
      bnSplits > 1 ? new SplitBatchNorm2d(c, bnSplits, bnOptions) : new BatchNorm2d(c, bnOptions);
    const expansion = block === 'basic' ? BasicBlock.expansion : Bottleneck.expansion;
    this.conv1 =
      stem === 'imagenet'
        ? this.registerModule('conv1', new Conv2d(3, width, 7, { stride: 2, padding: 3, bias: false, device }))
        : this.registerModule('conv1', new Conv2d(3, width, 3, { stride: 1, padding: 1, bias: false, device }));
    this.bn1 = this.registerModule('bn1', norm(width));
    let inplanes = width;
    this.layers = layers.map((count, i) => {
      const planes = width * 2 ** i;
      const stride = i === 0 ? 1 : 2;
      const blocks: Block[] = [];
      for (let b = 0; b < count; b++) {
        const s = b === 0 ? stride : 1;
        const blk =
          block === 'basic'
            ? new BasicBlock(inplanes, planes, s, norm, device)
            : new Bottleneck(inplanes, planes, s, norm, baseWidth, device);
        if (b === 0 && (s !== 1 || inplanes !== planes * expansion)) {
          blk.setDownsample(
            new Downsample(
              new Conv2d(inplanes, planes * expansion, 1, { stride: s, bias: false, device }),
              norm(planes * expansion),
            ),
          );
        }
        inplanes = planes * expansion;
        blocks.push(blk);
      }
      return this.registerModule(`layer${i + 1}`, new Layer(blocks));
    });
    this.featureDim = inplanes;
    this.fc = numClasses > 0 ? this.registerModule('fc', new Linear(inplanes, numClasses, { device })) : null;
    this.initialise();
    // Convolution weights in the input's layout too, as model.to(memory_format=channels_last): a
    // channels_last input with NCHW weights makes every convolution convert them, forward and back.
    if (this.options.channelsLast) this.to({ memoryFormat: 'channels_last' });
  }

  /** torchvision: Kaiming-normal (fan_out, relu) convs, BN γ=1 β=0, optional zero-init residual. */
  private initialise(): void {
    noGrad(() => {
      for (const [name, m] of this.namedModules()) {
        if (m instanceof Conv2d && !(name === 'conv1' && this.options.stemInit === 'default')) {
          const fanOut = m.outChannels * m.kernelSize * m.kernelSize;
          scope(() =>
            m.weight.copy_(randn(m.weight.shape, { device: this.options.device }).mul_(Math.sqrt(2 / fanOut))),
          );
        }
      }
      if (this.options.zeroInitResidual)
        for (const layer of this.layers) for (const b of layer.blocks) b.lastBn().weight?.zero_();
    });
  }

  /** Pooled features [N, featureDim], or class scores when numClasses > 0. */
  forward(x: Tensor): Tensor {
    return scope(() => {
      let out = this.options.channelsLast ? x.contiguous('channels_last') : x;
      if (this.stem === 'swav-cifar') out = F.pad(out, [1, 1, 1, 1]);
      out = this.bn1.forward(this.conv1.forward(out)).relu_();
      if (this.stem === 'imagenet') out = F.maxPool2d(out, 3, { stride: 2, padding: 1 });
      for (const layer of this.layers) out = layer.forward(out);
      const features = F.adaptiveAvgPool2d(out, 1).flatten(1);
      return this.fc ? this.fc.forward(features) : features;
    });
  }
}

export function resnet18(options: Omit<ResNetOptions, 'block' | 'layers'> = {}): ResNet {
  return new ResNet({ ...options, block: 'basic', layers: [2, 2, 2, 2] });
}
export function resnet34(options: Omit<ResNetOptions, 'block' | 'layers'> = {}): ResNet {
  return new ResNet({ ...options, block: 'basic', layers: [3, 4, 6, 3] });
}
export function resnet50(options: Omit<ResNetOptions, 'block' | 'layers'> = {}): ResNet {
  return new ResNet({ ...options, block: 'bottleneck', layers: [3, 4, 6, 3] });
}
