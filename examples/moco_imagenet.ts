// The MoCo ImageNet example's options (unmix_moco_imagenet.ts); the model: lib/train/methods.ts.
import { type MoCoImagenetArgs } from '../lib';
import { CommonOptions } from './common';

export interface MoCoImagenetOptions extends CommonOptions, MoCoImagenetArgs {
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
