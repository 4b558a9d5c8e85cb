// The MoCo ImageNet example's options and model (unmix_moco_imagenet.ts; also knn_eval.ts and
// linear_eval.ts, which rebuild a trained run from its args.json).
import { MoCo } from '../lib/ssl/moco';
import { CommonOptions } from './common';

export interface MoCoImagenetOptions extends CommonOptions {
  arch: 'resnet18' | 'resnet34' | 'resnet50';
  width: number;
  epochs: number;
  batchSize: number;
  lr: number;
  schedule: number[];
  momentum: number;
  wd: number;
  mocoDim: number;
  mocoK: number;
  mocoM: number;
  mocoT: number;
  mocoTm: number;
  mlp: boolean;
  augPlus: boolean;
  cos: boolean;
  beta: number;
  unmix_prob: number;
  unmix: boolean;
  bnSplits: number;
  crop: number;
  knnEvery: number;
  knnK: number;
  channelsLast?: boolean;
  foreach?: boolean;
  amp?: 'bfloat16';
}

/** MoCo v1 (fc head) or v2 (--mlp), asymmetric, clean keys queued (spec §4.1). */
export function buildMoCoImagenet(o: MoCoImagenetOptions): MoCo {
  return new MoCo({
    preset: o.mlp ? 'imagenet-v2' : 'imagenet-v1',
    arch: o.arch,
    width: o.width,
    dim: o.mocoDim,
    K: o.mocoK,
    m: o.mocoM,
    T: o.mocoT,
    mlp: o.mlp,
    bnSplits: o.bnSplits,
    symmetric: false,
    unmix: { enabled: o.unmix, prob: o.unmix_prob, beta: o.beta },
    channelsLast: o.channelsLast ?? false,
    foreach: o.foreach,
    amp: o.amp ?? null,
    device: o.device,
  });
}
