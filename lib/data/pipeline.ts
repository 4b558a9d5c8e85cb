// Augmentation pipelines as data: a list of steps, applied to a whole uint8 batch on its device with
// per-sample random parameters. Geometry (crop, resize, flip) comes first; colour steps follow in the
// order given. Horizontal flips are folded into the crop's sampling grid wherever they appear: every
// colour step here commutes with a mirror (pointwise, whole-image statistics, or a symmetric blur).
import { interpolate } from '../functional';
import { Rng } from '../rng';
import { Tensor } from '../tensor';
import * as A from './augment';
import { drawJitter, JitterDraw, resizedCropBox } from './sampling';
import * as is from '../validate';

export type Step =
  | { op: 'randomResizedCrop'; size: number | [number, number]; scale?: [number, number]; ratio?: [number, number] }
  | { op: 'resize'; size: number }
  | { op: 'centerCrop'; size: number | [number, number] }
  | { op: 'horizontalFlip'; p?: number }
  | { op: 'colorJitter'; brightness: number; contrast: number; saturation: number; hue: number; p?: number }
  | { op: 'grayscale'; p: number }
  | { op: 'gaussianBlur'; kernelSize: number; sigma: [number, number]; p?: number }
  | { op: 'solarize'; threshold?: number; p?: number }
  | { op: 'normalize'; mean: [number, number, number]; std: [number, number, number] };

export type Pipeline = Step[];

/** One kind of view: `count` views per image, each through `pipeline` (multi-crop lists several). */
export interface ViewSpec {
  pipeline: Pipeline;
  count: number;
}

const GEOMETRY = new Set(['randomResizedCrop', 'resize', 'centerCrop', 'horizontalFlip']);

function pair(size: number | [number, number]): [number, number] {
  return typeof size === 'number' ? [size, size] : size;
}

/** Checks a pipeline once, with messages naming the step. */
export function validatePipeline(pipeline: Pipeline): void {
  let seenColour = false;
  pipeline.forEach((step, i) => {
    const where = `pipeline step ${i} (${(step as { op: string }).op})`;
    const prob = (p: number | undefined) => p === undefined || is.probability(where, 'p', p);
    switch (step.op) {
      case 'randomResizedCrop': {
        const [lo, hi] = step.scale ?? [0.08, 1];
        const [r0, r1] = step.ratio ?? [3 / 4, 4 / 3];
        if (!(lo > 0 && lo <= hi && hi <= 1))
          throw new RangeError(`${where}: scale must satisfy 0 < min <= max <= 1, got [${lo}, ${hi}]`);
        if (!(r0 > 0 && r0 <= r1))
          throw new RangeError(`${where}: ratio must satisfy 0 < min <= max, got [${r0}, ${r1}]`);
        pair(step.size).forEach((s) => checkSize(s, where));
        break;
      }
      case 'resize':
        checkSize(step.size, where);
        break;
      case 'centerCrop':
        pair(step.size).forEach((s) => checkSize(s, where));
        break;
      case 'horizontalFlip':
      case 'solarize':
        prob(step.p);
        break;
      case 'colorJitter':
        prob(step.p);
        for (const k of ['brightness', 'contrast', 'saturation'] as const) is.nonNegative(where, k, step[k]);
        is.inRange(where, 'hue', step.hue, 0, 0.5);
        break;
      case 'grayscale':
        prob(step.p);
        break;
      case 'gaussianBlur':
        prob(step.p);
        if (!(step.sigma[0] > 0 && step.sigma[0] <= step.sigma[1]))
          throw new RangeError(`${where}: sigma must satisfy 0 < min <= max`);
        is.oddPositiveInt(where, 'kernelSize', step.kernelSize); // "must be odd" let -3 through
        break;
      case 'normalize':
        if (step.mean.length !== 3 || step.std.length !== 3 || step.std.some((s) => !(s > 0)))
          throw new RangeError(`${where}: mean and std need 3 values, std > 0`);
        break;
      default:
        throw new Error(
          `${where}: unknown step; known: randomResizedCrop resize centerCrop horizontalFlip colorJitter grayscale gaussianBlur solarize normalize`,
        );
    }
    if (GEOMETRY.has(step.op) && step.op !== 'horizontalFlip' && seenColour)
      throw new Error(`${where}: crops and resizes must come before colour steps`);
    if (!GEOMETRY.has(step.op)) seenColour = true;
  });
}

function checkSize(s: number, where: string): void {
  is.positiveInt(where, 'size', s);
}

/** The output size of a pipeline for inputs of `height`×`width`. */
export function outputSize(pipeline: Pipeline, height: number, width: number): [number, number] {
  let [h, w] = [height, width];
  for (const step of pipeline) {
    if (step.op === 'randomResizedCrop' || step.op === 'centerCrop') [h, w] = pair(step.size);
    else if (step.op === 'resize')
      [h, w] = h <= w ? [step.size, Math.floor((step.size * w) / h)] : [Math.floor((step.size * h) / w), step.size];
  }
  return [h, w];
}

/** Per-sample geometry: crop boxes in the input, output size and flips. */
export interface Geometry {
  boxes: A.CropBox[] | null;
  outH: number;
  outW: number;
  flips: boolean[];
}

/** Draws the crop box and flip of each of `sizes` (per-sample input sizes), as torchvision would. */
export function drawGeometry(
  pipeline: Pipeline,
  sizes: readonly [number, number][],
  rng: Rng,
): Geometry & { resize?: number; centerCrop?: [number, number] } {
  const n = sizes.length;
  let boxes: A.CropBox[] | null = null;
  let [outH, outW] = sizes.length ? sizes[0] : [0, 0];
  let resize: number | undefined;
  let centerCrop: [number, number] | undefined;
  const flips = new Array<boolean>(n).fill(false);
  for (const step of pipeline) {
    if (step.op === 'randomResizedCrop') {
      const scale = step.scale ?? [0.08, 1];
      const ratio = step.ratio ?? [3 / 4, 4 / 3];
      boxes = sizes.map(([h, w]) => resizedCropBox(rng, h, w, scale, ratio));
      [outH, outW] = pair(step.size);
    } else if (step.op === 'resize') resize = step.size;
    else if (step.op === 'centerCrop') centerCrop = pair(step.size);
    else if (step.op === 'horizontalFlip') {
      const p = step.p ?? 0.5;
      for (let i = 0; i < n; i++) flips[i] = flips[i] !== rng.random() < p;
    }
  }
  return { boxes, outH, outW, flips, resize, centerCrop };
}

/**
 * Runs `pipeline` on a uint8 batch [N, 3, H, W] and returns float32 images, on the batch's device.
 * Call it inside a scope(): intermediates are left to the scope.
 */
export function applyPipeline(images: Tensor, pipeline: Pipeline, rng: Rng): Tensor {
  validatePipeline(pipeline);
  const [n, , H, W] = images.shape;
  let x = images.dtype === 'uint8' ? images.to('float32').div_(255) : images.float();
  const g = drawGeometry(pipeline, new Array(n).fill([H, W]), rng);
  if (g.resize !== undefined) {
    const [h, w] = outputSize([{ op: 'resize', size: g.resize }], x.shape[2], x.shape[3]);
    x = interpolate(x, [h, w], { mode: 'bilinear', antialias: true });
  }
  if (g.centerCrop) {
    const [ch, cw] = g.centerCrop;
    const [h, w] = [x.shape[2], x.shape[3]];
    if (ch > h || cw > w) throw new RangeError(`centerCrop ${ch}x${cw} is larger than the ${h}x${w} image`);
    const top = Math.round((h - ch) / 2);
    const left = Math.round((w - cw) / 2);
    x = x.narrow(2, top, ch).narrow(3, left, cw);
  }
  if (g.boxes) x = A.resizedCrop(x, g.boxes, g.outH, g.outW, g.flips);
  else if (g.flips.some(Boolean)) x = A.applyTo(x, indicesWhere(g.flips), (s) => s.flip(3));
  return applyColour(x, pipeline, rng);
}

/** Replaces random draws (tests use it to force torchvision's parameters). */
export interface DrawOverrides {
  jitter?: (rng: Rng) => JitterDraw;
}

/** The colour steps of `pipeline` on float images in [0, 1] (geometry already applied). */
export function applyColour(x: Tensor, pipeline: Pipeline, rng: Rng, overrides: DrawOverrides = {}): Tensor {
  const n = x.shape[0];
  // Adjustments of subsets are written back in place into one private copy of the batch.
  let owned = false;
  const own = () => {
    if (!owned) x = x.clone();
    owned = true;
    return x;
  };
  const applySome = (members: number[], fn: (s: Tensor) => Tensor) =>
    members.length === n ? fn(x) : members.length ? A.applyTo(own(), members, fn, true) : x;
  for (const step of pipeline) {
    switch (step.op) {
      case 'colorJitter': {
        const applied = chosen(rng, n, step.p ?? 1);
        const draws = applied.map(() => (overrides.jitter ? overrides.jitter(rng) : drawJitter(rng, step)));
        // Position t of each sample's random order: apply each adjustment to the samples that chose it there.
        for (let t = 0; t < 4; t++) {
          for (const [fn, kind] of [
            [A.adjustBrightness, 'brightness'],
            [A.adjustContrast, 'contrast'],
            [A.adjustSaturation, 'saturation'],
            [A.adjustHue, 'hue'],
          ] as const) {
            const fnIndex = ['brightness', 'contrast', 'saturation', 'hue'].indexOf(kind);
            const members: number[] = [];
            const factors: number[] = [];
            applied.forEach((sample, k) => {
              const value = draws[k][kind];
              if (draws[k].order[t] === fnIndex && value !== null) {
                members.push(sample);
                factors.push(value);
              }
            });
            if (members.length)
              x = members.length === n ? fn(x, factors) : A.applyTo(own(), members, (s) => fn(s, factors), true);
          }
        }
        break;
      }
      case 'grayscale':
        x = applySome(chosen(rng, n, step.p), A.grayscale);
        break;
      case 'gaussianBlur': {
        const applied = chosen(rng, n, step.p ?? 1);
        const sigmas = applied.map(() => rng.uniform(step.sigma[0], step.sigma[1]));
        x = applySome(applied, (s) => A.gaussianBlur(s, step.kernelSize, sigmas));
        break;
      }
      case 'solarize':
        x = applySome(chosen(rng, n, step.p ?? 1), (s) => A.solarize(s, step.threshold ?? 0.5));
        break;
      case 'normalize':
        x = A.normalize(x, step.mean, step.std);
        break;
    }
  }
  return x;
}

/** The samples (in order) for which a Bernoulli(p) draw succeeds; one draw per sample. */
function chosen(rng: Rng, n: number, p: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (rng.random() < p) out.push(i);
  return out;
}

function indicesWhere(flags: boolean[]): number[] {
  return flags.flatMap((f, i) => (f ? [i] : []));
}
