// Batched image transforms on float images in [0, 1], [N, 3, H, W], on whatever device they are.
// Each sample has its own parameters (drawn in sampling.ts); the arithmetic is torchvision's tensor
// functional code (torchvision.transforms.functional on float tensors), so a transform with fixed
// parameters gives torchvision's result for every sample. Callers run these inside a scope().
import { tensor } from '../creation';
import { cat, conv2d, gridSample, pad, stack } from '../functional';
import { Tensor } from '../tensor';
import * as is from '../validate';

/** A crop box in pixels: rows top..top+height, columns left..left+width. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** A per-sample column [N, 1, 1, 1] of factors, on x's device and dtype. */
function perSample(x: Tensor, values: ArrayLike<number>): Tensor {
  return tensor(Float32Array.from(values), { device: x.device }).to(x.dtype).view(-1, 1, 1, 1);
}

/**
 * Crops each sample to its box and resizes it to [outH, outW] with bilinear interpolation
 * (align_corners=False, no antialias): torchvision's F.resized_crop on tensors. `flips[i]` mirrors
 * sample i horizontally afterwards (F.hflip), folded into the same sampling grid.
 */
export function resizedCrop(
  x: Tensor,
  boxes: readonly CropBox[],
  outH: number,
  outW: number,
  flips?: readonly boolean[],
): Tensor {
  const [n, , H, W] = x.shape;
  if (boxes.length !== n) throw new Error(`resizedCrop: ${boxes.length} boxes for a batch of ${n}`);
  const gx = new Float32Array(n * outW);
  const gy = new Float32Array(n * outH);
  for (let i = 0; i < n; i++) {
    const b = boxes[i];
    if (!(b.height > 0 && b.width > 0 && b.top >= 0 && b.left >= 0 && b.top + b.height <= H && b.left + b.width <= W)) {
      throw new RangeError(`resizedCrop: box ${JSON.stringify(b)} of sample ${i} is outside the ${H}x${W} image`);
    }
    // The source coordinate upsample_bilinear2d uses, clamped to the crop (where it clamps its indices),
    // then moved to the full image and to grid_sample's normalised units.
    const axis = (
      out: number,
      size: number,
      offset: number,
      dst: Float32Array,
      at: number,
      mirror: boolean,
      full: number,
    ) => {
      const scale = size / out;
      for (let j = 0; j < out; j++) {
        const src = Math.min(Math.max((j + 0.5) * scale - 0.5, 0), size - 1);
        dst[at + (mirror ? out - 1 - j : j)] = (2 * (offset + src) + 1) / full - 1;
      }
    };
    axis(outW, b.width, b.left, gx, i * outW, flips?.[i] ?? false, W);
    axis(outH, b.height, b.top, gy, i * outH, false, H);
  }
  const gridX = tensor(gx, { device: x.device }).view(n, 1, outW, 1).expand(n, outH, outW, 1);
  const gridY = tensor(gy, { device: x.device }).view(n, outH, 1, 1).expand(n, outH, outW, 1);
  const grid = cat([gridX, gridY], 3).to(x.dtype);
  return gridSample(x, grid, { mode: 'bilinear', paddingMode: 'border', alignCorners: false });
}

/** 0.2989 R + 0.587 G + 0.114 B, [N, 1, H, W] (F.rgb_to_grayscale). */
export function grayscale1(x: Tensor): Tensor {
  const [r, g, b] = [x.select(1, 0), x.select(1, 1), x.select(1, 2)];
  return r.mul(0.2989).add(g.mul(0.587)).add(b.mul(0.114)).unsqueeze(1);
}

/** Grayscale replicated to 3 channels (RandomGrayscale's output). */
export function grayscale(x: Tensor): Tensor {
  return grayscale1(x).expand(-1, 3, -1, -1).contiguous();
}

/** torchvision's _blend for float images: (ratio·a + (1 − ratio)·b) clamped to [0, 1]. */
function blend(a: Tensor, b: Tensor | number, ratio: Tensor): Tensor {
  const mixed = typeof b === 'number' ? a.mul(ratio).add(ratio.rsub(1).mul(b)) : a.mul(ratio).add(b.mul(ratio.rsub(1)));
  return mixed.clamp(0, 1);
}

export function adjustBrightness(x: Tensor, factors: ArrayLike<number>): Tensor {
  return blend(x, 0, perSample(x, factors));
}

export function adjustContrast(x: Tensor, factors: ArrayLike<number>): Tensor {
  const mean = grayscale1(x).mean([1, 2, 3], { keepdim: true });
  return blend(x, mean, perSample(x, factors));
}

export function adjustSaturation(x: Tensor, factors: ArrayLike<number>): Tensor {
  return blend(x, grayscale1(x), perSample(x, factors));
}

/** Hue rotation through HSV, exactly torchvision's _rgb2hsv / _hsv2rgb. */
export function adjustHue(x: Tensor, factors: ArrayLike<number>): Tensor {
  const [h, s, v] = rgbToHsv(x);
  const shifted = h.add(perSample(x, factors).squeeze(1)).remainder(1.0);
  return hsvToRgb(shifted, s, v);
}

// torchvision's _rgb2hsv / _hsv2rgb for images in [0, 1], with fewer passes over the batch: the
// masked sums become where() selections (same values), and torchvision's where(eq, 1, d) divisors
// become d.clamp_min(1e-30) (equal wherever they differ from 1, and 0 / 1e-30 = 0 / 1 elsewhere).
function rgbToHsv(x: Tensor): [Tensor, Tensor, Tensor] {
  const [r, g, b] = [x.select(1, 0), x.select(1, 1), x.select(1, 2)];
  const maxc = x.amax(1);
  const cr = maxc.sub(x.amin(1));
  const s = cr.div(maxc.clamp(1e-30, null));
  const crDivisor = cr.clamp(1e-30, null);
  const rc = maxc.sub(r).div(crDivisor);
  const gc = maxc.sub(g).div(crDivisor);
  const bc = maxc.sub(b).div(crDivisor);
  const hue = bc.sub(gc).where(maxc.eq(r), rc.add(2.0).sub(bc).where(maxc.eq(g), gc.add(4.0).sub(rc)));
  return [hue.div(6.0).add(1.0).fmod(1.0), s, maxc];
}

function hsvToRgb(h: Tensor, s: Tensor, v: Tensor): Tensor {
  const h6 = h.mul(6.0);
  const i = h6.floor();
  const f = h6.sub(i);
  const sector = i.remainder(6);
  const p = v.mul(s.rsub(1.0)).clamp(0, 1);
  const q = v.mul(s.mul(f).rsub(1.0)).clamp(0, 1);
  const t = v.mul(s.mul(f.rsub(1.0)).rsub(1.0)).clamp(0, 1);
  // torchvision picks, per sector 0..5: r = (v, q, p, p, t, v), g = (t, v, v, q, p, p), b = (p, p, t, v, v, q).
  const is = [0, 1, 2, 3, 4, 5].map((k) => sector.eq(k));
  const pick = (values: Tensor[]) =>
    values.slice(0, 5).reduceRight((acc, value, k) => value.where(is[k], acc), values[5]);
  return stack([pick([v, q, p, p, t, v]), pick([t, v, v, q, p, p]), pick([p, p, t, v, v, q])], 1);
}

/** Gaussian blur with a per-sample sigma (F.gaussian_blur: reflect padding, normalised 1-d kernels). */
export function gaussianBlur(x: Tensor, kernelSize: number, sigmas: ArrayLike<number>): Tensor {
  is.oddPositiveInt('gaussianBlur', 'kernelSize', kernelSize);
  const [n, c, H, W] = x.shape;
  const half = (kernelSize - 1) / 2;
  const weights = new Float32Array(n * c * kernelSize);
  for (let i = 0; i < n; i++) {
    const pdf = Array.from({ length: kernelSize }, (_, k) => Math.exp(-0.5 * ((-half + k) / sigmas[i]) ** 2));
    const sum = pdf.reduce((a, b) => a + b, 0);
    for (let ch = 0; ch < c; ch++)
      for (let k = 0; k < kernelSize; k++) weights[(i * c + ch) * kernelSize + k] = pdf[k] / sum;
  }
  const kernel = tensor(weights, { device: x.device }).to(x.dtype);
  const padded = pad(x.reshape([1, n * c, H, W]), [half, half, half, half], { mode: 'reflect' });
  const rows = conv2d(padded, kernel.view(n * c, 1, kernelSize, 1), { groups: n * c });
  const both = conv2d(rows, kernel.view(n * c, 1, 1, kernelSize), { groups: n * c });
  return both.view(n, c, H, W);
}

/** Pixels at or above `threshold` are inverted (F.solarize on float images). */
export function solarize(x: Tensor, threshold: number): Tensor {
  return x.rsub(1).where(x.ge(threshold), x);
}

/** (x − mean) / std per channel. */
export function normalize(x: Tensor, mean: readonly number[], std: readonly number[]): Tensor {
  const m = tensor(Float32Array.from(mean), { device: x.device }).to(x.dtype).view(1, -1, 1, 1);
  const s = tensor(Float32Array.from(std), { device: x.device }).to(x.dtype).view(1, -1, 1, 1);
  return x.sub(m).div(s);
}

/**
 * Applies `fn` to the samples listed in `indices` only and writes them back (the others are untouched,
 * bit for bit). The indices are known on the host, so no device synchronisation is needed. With
 * `inPlace` the result is written into `x` itself (for intermediates the caller owns).
 */
export function applyTo(
  x: Tensor,
  indices: readonly number[],
  fn: (subset: Tensor) => Tensor,
  inPlace = false,
): Tensor {
  if (indices.length === 0) return x;
  if (indices.length === x.shape[0]) return fn(x);
  const index = tensor(Int32Array.from(indices), { device: x.device }).to('int64');
  const result = fn(x.indexSelect(0, index));
  return inPlace ? x.indexCopy_(0, index, result) : x.indexCopy(0, index, result);
}
