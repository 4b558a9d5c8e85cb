// Random parameters of the transforms, drawn per sample the way torchvision's get_params draws them
// (same distributions, same rejection loop and fallback, Python's round-half-to-even), from our Rng.
import { Rng } from '../rng';
import { CropBox } from './augment';

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** RandomResizedCrop.get_params: ten tries of (area fraction, log-uniform aspect), then the centre fallback. */
export function resizedCropBox(
  rng: Rng,
  height: number,
  width: number,
  scale: readonly [number, number],
  ratio: readonly [number, number],
): CropBox {
  const area = height * width;
  const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logRatio[0], logRatio[1]));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { top: rng.randint(0, height - h + 1), left: rng.randint(0, width - w + 1), height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < Math.min(...ratio)) h = roundHalfEven(w / Math.min(...ratio));
  else if (inRatio > Math.max(...ratio)) {
    h = height;
    w = roundHalfEven(h * Math.max(...ratio));
  }
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/** ColorJitter's (a, b) range for a strength s: brightness/contrast/saturation [max(0, 1−s), 1+s], hue [−s, s]. */
export function jitterRange(strength: number, kind: 'factor' | 'hue'): [number, number] | null {
  if (strength === 0) return null;
  return kind === 'hue' ? [-strength, strength] : [Math.max(0, 1 - strength), 1 + strength];
}

export interface JitterDraw {
  /** the order of brightness (0), contrast (1), saturation (2), hue (3) */
  order: Int32Array;
  brightness: number | null;
  contrast: number | null;
  saturation: number | null;
  hue: number | null;
}

/** ColorJitter.get_params: a random order of the four adjustments, then each factor. */
export function drawJitter(
  rng: Rng,
  strengths: { brightness: number; contrast: number; saturation: number; hue: number },
): JitterDraw {
  const order = rng.permutation(4);
  const draw = (range: [number, number] | null) => (range ? rng.uniform(range[0], range[1]) : null);
  return {
    order,
    brightness: draw(jitterRange(strengths.brightness, 'factor')),
    contrast: draw(jitterRange(strengths.contrast, 'factor')),
    saturation: draw(jitterRange(strengths.saturation, 'factor')),
    hue: draw(jitterRange(strengths.hue, 'hue')),
  };
}
