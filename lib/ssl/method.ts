// The contract between a self-supervised method (MoCo, SwAV, BYOL, SimCLR) and the trainer.
// A method owns its networks and loss; the trainer owns data, optimizer, schedule, logs and checkpoints.
import { Module } from '../nn/module';
import { Rng } from '../rng';
import { Tensor } from '../tensor';

export interface StepContext {
  /** 0-based global iteration */
  iteration: number;
  /** 0-based epoch */
  epoch: number;
  itersPerEpoch: number;
  totalEpochs: number;
  /** the generator for this step's random choices (Un-Mix r, λ, box; shuffle-BN permutations) */
  rng: Rng;
}

export interface StepResult {
  /** scalar loss with a graph to the trainable parameters */
  loss: Tensor;
  /** numbers worth logging (loss terms, λ, ...) */
  logs: Record<string, number>;
}

export abstract class SslMethod extends Module {
  abstract readonly name: string;

  /**
   * Forward and loss for one batch. `views` are normalized float [N, 3, H, W] tensors: two views, or the
   * crops of a multi-crop pipeline in order. The trainer then calls backward, beforeOptimizerStep,
   * the optimizer and afterOptimizerStep.
   */
  abstract trainingStep(views: Tensor[], ctx: StepContext): StepResult;

  /** Features for kNN / linear evaluation: the projection output or the pooled backbone features. */
  abstract embed(images: Tensor, which: 'projection' | 'backbone'): Tensor;

  /** The parameters the optimizer updates (momentum encoders excluded). */
  trainableParameters(): Tensor[] {
    return this.parameters().filter((p) => p.requiresGrad);
  }

  /** After backward, before the optimizer (e.g. SwAV drops prototype gradients while they are frozen). */
  beforeOptimizerStep(_ctx: StepContext): void {}

  /** After the optimizer (e.g. BYOL's target update). */
  afterOptimizerStep(_ctx: StepContext): void {}

  /** Non-tensor state a checkpoint must carry (e.g. a queue pointer). Tensors belong in buffers. */
  extraState(): Record<string, number | number[] | string> {
    return {};
  }

  loadExtraState(_state: Record<string, unknown>): void {}

  forward(images: Tensor): Tensor {
    return this.embed(images, 'projection');
  }
}
