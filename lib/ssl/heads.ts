// The projection and prediction heads of the four methods, as their papers and reference code build
// them. Each keeps the reference's layer order, so the state-dict keys are theirs (fc.0/fc.2,
// projector.0..3, projection_head.0..3).
import { Linear, mlp, Sequential } from '../nn/layers';
import { Module } from '../nn/module';
import { Device } from '../tensor';

/** MoCo v1: Linear(f, dim); v2 (`mlp`): Linear(f, f) → ReLU → Linear(f, dim). */
export function mocoHead(features: number, dim: number, v2: boolean, device?: Device): Module {
  return v2 ? mlp([features, features, dim], { batchNorm: false, device }) : new Linear(features, dim, { device });
}

/** SimCLR's projector: Linear → ReLU → Linear, biases everywhere (solo-learn). */
export function simclrProjector(features: number, hidden: number, out: number, device?: Device): Sequential {
  return mlp([features, hidden, out], { batchNorm: false, device });
}

/** BYOL's projector and predictor: Linear → BatchNorm1d → ReLU → Linear, biases everywhere (solo-learn). */
export function byolHead(inDim: number, hidden: number, out: number, device?: Device): Sequential {
  return mlp([inDim, hidden, out], { hiddenBias: true, device });
}

/** SwAV's projection head: as BYOL's, or a single Linear when `hidden` is 0 (the reference's hidden_mlp 0). */
export function swavProjection(features: number, hidden: number, out: number, device?: Device): Module {
  return hidden > 0 ? byolHead(features, hidden, out, device) : new Linear(features, out, { device });
}
