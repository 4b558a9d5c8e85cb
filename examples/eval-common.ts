// What knn_eval.ts and linear_eval.ts take from the run they evaluate: its crop size and the
// normalisation it trained with (args.json's `normalization`, which the training examples record
// after resolving --mean/--std), CIFAR's when the run recorded none.
import { distributed, presets, type Device, type Rgb } from '../lib';
import { CommonOptions, openData } from './common';

const { CIFAR_MEAN, CIFAR_STD } = presets;

const rgb = (v: unknown): Rgb | undefined =>
  Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number') ? (v as Rgb) : undefined;
const same = (a: Rgb, b: Rgb) => a.every((x, i) => x === b[i]);

/** `custom`: the run normalised with something other than the CIFAR constants. */
export function runNormalization(
  args: Record<string, unknown>,
  crop?: number,
): { crop: number; fallback: { mean: Rgb; std: Rgb }; custom: boolean } {
  const n = (args.normalization ?? {}) as { mean?: unknown; std?: unknown };
  const mean = rgb(n.mean) ?? CIFAR_MEAN;
  const std = rgb(n.std) ?? CIFAR_STD;
  const runCrop =
    typeof args.crop === 'number' ? args.crop : Array.isArray(args.size_crops) ? (args.size_crops[0] as number) : 32;
  return { crop: crop ?? runCrop, fallback: { mean, std }, custom: !same(mean, CIFAR_MEAN) || !same(std, CIFAR_STD) };
}

/** The data flags both evaluations share. */
export interface EvalDataFlags {
  data?: string;
  device: Device;
  seed: number;
  subset?: number;
  testSubset?: number;
  skipCorrupt?: boolean;
  mean?: Rgb | 'data';
  std?: Rgb | 'data';
  json?: boolean;
}

/** The evaluation's data, opened as the training examples open theirs (no results folder). */
export async function openEvalData(o: EvalDataFlags) {
  const common: CommonOptions = { ...o, resultsDir: '', progress: !o.json };
  return { common, data: await openData(common) };
}

/**
 * Under `unmix launch` an evaluation is one process's work: rank 0 runs it and prints, and the other
 * ranks stop at once with nothing to do (true for them).
 */
export function notRankZero(): boolean {
  const env = distributed.launchEnv();
  return env !== null && env.rank !== 0;
}
