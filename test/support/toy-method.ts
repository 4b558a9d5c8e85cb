// A small SslMethod for trainer tests: a linear encoder on flattened pixels with an InfoNCE loss
// between the two views, Un-Mix on view 1 (so steps use ctx.rng), and a momentum "target" buffer
// updated after each optimizer step (state a resume must carry).
import * as u from '../../lib';
import { Linear } from '../../lib/nn/layers';
import { SslMethod, StepContext, StepResult } from '../../lib/ssl/method';
import { mixBatch, reverseBatch, UNMIX_DEFAULTS } from '../../lib/ssl/unmix';

export class ToyMethod extends SslMethod {
  readonly name = 'toy';
  readonly encoder: Linear;
  /** set to make the loss NaN from that iteration on */
  nanFrom = Infinity;
  /** called at the start of every step (tests use it to stop or kill mid-epoch) */
  onStep?: (ctx: StepContext) => void;
  stepsSeen = 0;

  constructor(inputs: number, dim = 8) {
    super();
    this.encoder = this.registerModule('encoder', new Linear(inputs, dim));
    this.registerBuffer('target', u.zeros([dim, inputs]));
  }

  private encode(x: u.Tensor): u.Tensor {
    return u.normalize(this.encoder.forward(x.flatten(1)), { dim: 1 });
  }

  trainingStep(views: u.Tensor[], ctx: StepContext): StepResult {
    this.onStep?.(ctx);
    this.stepsSeen++;
    const [x1, x2] = views;
    const mix = mixBatch(x1, UNMIX_DEFAULTS, ctx.rng);
    const k = this.encode(x2).detach();
    const labels = u.arange(0, x1.shape[0], 1, { dtype: 'int64', device: x1.device });
    const ce = (q: u.Tensor) => u.crossEntropy(q.matmul(k.t()).div(0.1), labels);
    const qm = this.encode(mix.mixed);
    const clean = ce(this.encode(x1));
    const mixed = ce(qm);
    const flipped = ce(reverseBatch(qm));
    let loss = clean.add(mixed.mul(mix.lam)).add(flipped.mul(1 - mix.lam));
    if (ctx.iteration >= this.nanFrom) loss = loss.mul(NaN);
    return { loss, logs: { lam: mix.lam, clean: clean.item() as number } };
  }

  afterOptimizerStep(): void {
    u.noGrad(() => {
      const target = this.buffer('target')!;
      target.mul_(0.9).add_(this.encoder.weight.mul(0.1));
    });
  }

  embed(images: u.Tensor): u.Tensor {
    return this.encoder.forward(images.flatten(1));
  }
}
