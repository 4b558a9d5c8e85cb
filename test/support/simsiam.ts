// SimSiam (+Un-Mix) from lib/ssl's building blocks: the method of docs/new-method.md, whose code
// block is this file (test/new-method.test.ts checks that they match and that it trains).
import { ResNet, ResNetOptions } from '../../lib/nn/resnet';
import { Sequential } from '../../lib/nn/layers';
import { scope } from '../../lib/memory';
import { Device, Tensor } from '../../lib/tensor';
import * as is from '../../lib/validate';
import { configure, DeepPartial } from '../../lib/ssl/config';
import { byolHead } from '../../lib/ssl/heads';
import { byolLoss } from '../../lib/ssl/losses';
import { SslMethod, StepContext, StepResult } from '../../lib/ssl/method';
import { checkUnmixOptions, drawIfEnabled, UnmixOptions, unmixStep } from '../../lib/ssl/unmix';
import { checkTwoViews } from '../../lib/ssl/views';

export interface SimSiamOptions {
  backbone: Omit<ResNetOptions, 'numClasses' | 'device'>;
  hiddenDim: number;
  outputDim: number;
  unmix: UnmixOptions;
}

export const SIMSIAM_PRESETS: Record<'cifar', SimSiamOptions> = {
  cifar: {
    backbone: { block: 'basic', layers: [2, 2, 2, 2], stem: 'cifar' },
    hiddenDim: 2048,
    outputDim: 2048,
    unmix: { enabled: true, prob: 0.5, beta: 1 },
  },
};

export class SimSiam extends SslMethod {
  readonly name = 'simsiam';
  readonly options: SimSiamOptions;
  readonly backbone: ResNet;
  readonly projector: Sequential;
  readonly predictor: Sequential;

  constructor(config: DeepPartial<SimSiamOptions> & { preset?: 'cifar'; device?: Device } = {}) {
    super();
    const { preset = 'cifar', device, ...rest } = config;
    const o = (this.options = configure('SimSiam', SIMSIAM_PRESETS, preset, rest));
    for (const k of ['hiddenDim', 'outputDim'] as const) is.positiveInt('SimSiam', k, o[k]);
    checkUnmixOptions('SimSiam', o.unmix, 'unmix.');
    this.backbone = this.registerModule('backbone', new ResNet({ ...o.backbone, device }));
    this.projector = this.registerModule(
      'projector',
      byolHead(this.backbone.featureDim, o.hiddenDim, o.outputDim, device),
    );
    this.predictor = this.registerModule('predictor', byolHead(o.outputDim, o.hiddenDim, o.outputDim, device));
  }

  embed(images: Tensor, which: 'projection' | 'backbone'): Tensor {
    if (which === 'backbone') return this.backbone.forward(images);
    return scope(() => this.projector.forward(this.backbone.forward(images)));
  }

  trainingStep(views: Tensor[], ctx: StepContext): StepResult {
    checkTwoViews('SimSiam', views);
    const mix = drawIfEnabled(views[0].shape, this.options.unmix, ctx.rng);
    return scope(() => {
      const [z1, z2] = views.map((x) => this.projector.forward(this.backbone.forward(x)));
      const [p1, p2] = [z1, z2].map((z) => this.predictor.forward(z));
      const online = (x: Tensor) => this.predictor.forward(this.projector.forward(this.backbone.forward(x)));
      // byolLoss detaches its target: SimSiam's stop-gradient, with no momentum encoder
      return unmixStep(byolLoss(p1, z2).add(byolLoss(p2, z1)), views[0], mix, online, (p) => byolLoss(p, z2));
    });
  }
}
