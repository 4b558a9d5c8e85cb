// A synthetic image dataset generated on the spot, so the quick start trains without downloads.
// Ten classes, each a shape (disc, square, triangle, ring, cross) drawn plain or striped, in a colour
// family that it shares with another class (and 30% of objects take a random family's colour): colour
// hints at the class but never decides it, so a classifier must learn shape and texture. Grayscale
// keeps the class: the object's colour is at least 0.25 away from the background's in luminance.
// Nuisances: position, scale, rotation, stripe period/phase, shading, colour jitter inside the
// family, a random background colour with a gradient, clutter dots and pixel noise.
// Deterministic: the same arguments give byte-identical images (lib/rng.ts; train and test draw from
// different derived streams).
import { tensor } from '../creation';
import { Rng } from '../rng';
import { Device } from '../tensor';
import { TensorImageSet } from './dataset';
import * as is from '../validate';

const SHAPES = ['disc', 'square', 'triangle', 'ring', 'cross'] as const;
const TEXTURES = ['plain', 'striped'] as const;
/** Hue centres (degrees) of the colour families; an object's hue is its family's ± 22°. */
const FAMILIES = { red: 0, yellow: 55, green: 120, blue: 220, purple: 285 } as const;
type Family = keyof typeof FAMILIES;
/** Probability that an object takes a random family's colour instead of its class's. */
const OFF_FAMILY = 0.3;
const FAMILY_NAMES = Object.keys(FAMILIES) as Family[];

/**
 * Class k: shape k mod 5, texture ⌊k/5⌋. Each family holds two classes, of the same texture where it
 * can (red, yellow, blue, purple), so that colour and texture together still leave the shape to tell.
 */
const CLASS_FAMILY: Family[] = ['red', 'red', 'yellow', 'yellow', 'green', 'blue', 'blue', 'purple', 'purple', 'green'];
export const SYNTHETIC_CLASSES = Array.from({ length: 10 }, (_, k) => {
  const shape = SHAPES[k % 5];
  const texture = TEXTURES[Math.floor(k / 5)];
  return { name: `${texture} ${shape}`, shape, texture, family: CLASS_FAMILY[k] };
});

export interface SyntheticOptions {
  split: 'train' | 'test';
  /** image height and width in pixels (default 32) */
  size?: number;
  /** images per class (default 5,000 for train and 1,000 for test, like CIFAR-10) */
  perClass?: number;
  /** an integer in [0, 2^32) (default 0) */
  seed?: number;
  device?: Device;
}

export interface SyntheticSet extends TensorImageSet {
  format: 'synthetic';
  seed: number;
}

// The per-pixel code below avoids Math.* calls: under Jest (another realm's Math) each costs ~0.5 µs,
// which made generation 30x slower there. Operators and these small helpers are inlined everywhere.
const abs = (x: number) => (x < 0 ? -x : x);
const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);
const max = (a: number, b: number) => (a > b ? a : b);
const min = (a: number, b: number) => (a < b ? a : b);

/** Signed distance (in units of the object's radius) from (u, v) to the shape's outline; < 0 inside. */
function shapeDistance(shape: number, u: number, v: number): number {
  switch (shape) {
    case 0: // disc
      return (u * u + v * v) ** 0.5 - 1;
    case 1: // square
      return max(abs(u), abs(v)) - 0.8;
    case 2: // triangle: edges with outward normals at 90°, 210°, 330°; inradius 0.62
      return max(v, max(-0.8660254 * u - 0.5 * v, 0.8660254 * u - 0.5 * v)) - 0.62;
    case 3: // ring
      return abs((u * u + v * v) ** 0.5 - 0.78) - 0.22;
    default: {
      // cross: two bars of half-width 0.3
      const au = abs(u);
      const av = abs(v);
      return min(max(au - 1, av - 0.3), max(au - 0.3, av - 1));
    }
  }
}

/** HSV (h in degrees, s and v in [0, 1]) to RGB in [0, 1]. */
function hsv(h: number, s: number, v: number): [number, number, number] {
  const hh = (((h % 360) + 360) % 360) / 60;
  const c = v * s;
  const x = c * (1 - Math.abs((hh % 2) - 1));
  const m = v - c;
  const i = Math.floor(hh);
  const [r, g, b] =
    i === 0
      ? [c, x, 0]
      : i === 1
        ? [x, c, 0]
        : i === 2
          ? [0, c, x]
          : i === 3
            ? [0, x, c]
            : i === 4
              ? [x, 0, c]
              : [c, 0, x];
  return [r + m, g + m, b + m];
}

/** Luminance as grayscale augmentation computes it (torchvision's rgb_to_grayscale weights). */
const luma = (c: readonly number[]) => 0.2989 * c[0] + 0.587 * c[1] + 0.114 * c[2];

function checkOptions(options: SyntheticOptions): { size: number; perClass: number; seed: number } {
  if (options === null || typeof options !== 'object')
    throw new TypeError('syntheticDataset: expected an options object with split "train" or "test"');
  const { split } = options;
  if (split !== 'train' && split !== 'test')
    throw new Error(`syntheticDataset: split must be "train" or "test", got ${JSON.stringify(split)}`);
  const size = options.size ?? 32;
  is.intInRange('syntheticDataset', 'size', size, 8, 1024);
  const perClass = options.perClass ?? (split === 'train' ? 5000 : 1000);
  is.positiveInt('syntheticDataset', 'perClass', perClass);
  const bytes = 10 * perClass * 3 * size * size;
  if (bytes > 2 ** 31 - 1)
    throw new RangeError(
      `syntheticDataset: ${10 * perClass} images of ${size}x${size} need ${bytes} bytes, more than one buffer holds (2 GiB); use fewer or smaller images`,
    );
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32)
    throw new RangeError(`syntheticDataset: seed must be an integer in [0, 2^32), got ${seed}`);
  return { size, perClass, seed };
}

/** Draws one image into `out` (planar RGB, size×size per plane, values 0..255). */
function drawImage(out: Uint8Array, offset: number, size: number, cls: number, rng: Rng): void {
  const { shape, texture, family } = SYNTHETIC_CLASSES[cls];
  const plane = size * size;
  // Object: radius 20–40% of the image, centre kept so that most of it is visible.
  const r = size * rng.uniform(0.2, 0.4);
  const cx = rng.uniform(0.7 * r, size - 0.7 * r);
  const cy = rng.uniform(0.7 * r, size - 0.7 * r);
  const angle = rng.uniform(0, 2 * Math.PI);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  // Some objects take a random family's colour, so colour is a hint, never the answer.
  const hue = FAMILIES[rng.bernoulli(OFF_FAMILY) ? FAMILY_NAMES[rng.randint(0, 5)] : family];
  const fg = hsv(hue + rng.uniform(-22, 22), rng.uniform(0.55, 1), rng.uniform(0.55, 1));
  const fgLuma = luma(fg);
  // Stripes (dark bands across the object, rotating with it) or plain with a shading gradient.
  const period = rng.uniform(0.45, 0.65);
  const phase = rng.random();
  const dark = rng.uniform(0.15, 0.35);
  const shade = rng.uniform(0, 0.3);
  const shadeAngle = rng.uniform(0, 2 * Math.PI);
  const shadeCos = Math.cos(shadeAngle);
  const shadeSin = Math.sin(shadeAngle);
  const striped = texture === 'striped';
  const shapeId = SHAPES.indexOf(shape);
  // Background: any hue, a luminance at least 0.25 away from the object's so grayscale keeps the shape.
  let bg = hsv(rng.uniform(0, 360), rng.uniform(0, 0.7), rng.uniform(0.05, 1));
  for (let tries = 0; Math.abs(luma(bg) - fgLuma) < 0.25 && tries < 20; tries++)
    bg = hsv(rng.uniform(0, 360), rng.uniform(0, 0.7), rng.uniform(0.05, 1));
  if (Math.abs(luma(bg) - fgLuma) < 0.25) bg = fgLuma > 0.5 ? [0.05, 0.05, 0.05] : [0.95, 0.95, 0.95];
  const gradient = rng.uniform(0, 0.3);
  const gradAngle = rng.uniform(0, 2 * Math.PI);
  const gx = (Math.cos(gradAngle) * gradient) / size;
  const gy = (Math.sin(gradAngle) * gradient) / size;
  // Clutter: up to three small dots of random colour behind the object.
  const dots = Array.from({ length: rng.randint(0, 4) }, () => ({
    x: rng.uniform(0, size),
    y: rng.uniform(0, size),
    r: size * rng.uniform(0.03, 0.08),
    c: hsv(rng.uniform(0, 360), rng.uniform(0, 1), rng.uniform(0, 1)),
  }));
  const noise = rng.uniform(0.02, 0.08) * Math.sqrt(3); // half-width of uniform noise with sd 0.02–0.08
  let state = rng.nextUint32() | 1; // xorshift32 for the per-pixel noise: fast and seeded from the stream

  const [b0, b1, b2] = bg;
  const [f0, f1, f2] = fg;
  const reach = 1.3 * r + 1; // every shape lies within 1.24 r (the triangle's corners)
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const px = x + 0.5 - cx;
      const py = y + 0.5 - cy;
      const t = (x + 0.5 - size / 2) * gx + (y + 0.5 - size / 2) * gy;
      let c0 = b0 + t;
      let c1 = b1 + t;
      let c2 = b2 + t;
      for (const d of dots) {
        const dx = x + 0.5 - d.x;
        const dy = y + 0.5 - d.y;
        if (abs(dx) > d.r + 1 || abs(dy) > d.r + 1) continue;
        const a = clamp01(d.r + 0.5 - (dx * dx + dy * dy) ** 0.5);
        c0 += a * (d.c[0] - c0);
        c1 += a * (d.c[1] - c1);
        c2 += a * (d.c[2] - c2);
      }
      if (abs(px) < reach && abs(py) < reach) {
        const u = (px * cos + py * sin) / r;
        const v = (-px * sin + py * cos) / r;
        // Coverage of the pixel from the signed distance in pixels: anti-aliased edges.
        const cover = clamp01(0.5 - shapeDistance(shapeId, u, v) * r);
        if (cover > 0) {
          let k: number;
          if (striped) {
            // a triangle wave across u (period in units of r), steepened into bands with soft edges
            const f = u / period + phase + 16; // > 0, so `| 0` is floor
            k = 1 - (1 - dark) * clamp01(0.5 + 1.5 * (2 * abs(2 * (f - (f | 0)) - 1) - 1));
          } else {
            k = 1 + shade * (u * shadeCos + v * shadeSin);
          }
          c0 += cover * (f0 * k - c0);
          c1 += cover * (f1 * k - c1);
          c2 += cover * (f2 * k - c2);
        }
      }
      const i = offset + y * size + x;
      // xorshift32: one draw gives three 10-bit uniforms, the noise of the three channels
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      c0 += ((state & 1023) / 1024 - 0.5) * 2 * noise;
      c1 += (((state >>> 10) & 1023) / 1024 - 0.5) * 2 * noise;
      c2 += (((state >>> 20) & 1023) / 1024 - 0.5) * 2 * noise;
      // clamp by hand (a Uint8Array store wraps around) and round half up
      out[i] = c0 <= 0 ? 0 : c0 >= 1 ? 255 : (c0 * 255 + 0.5) | 0;
      out[i + plane] = c1 <= 0 ? 0 : c1 >= 1 ? 255 : (c1 * 255 + 0.5) | 0;
      out[i + 2 * plane] = c2 <= 0 ? 0 : c2 >= 1 ? 255 : (c2 * 255 + 0.5) | 0;
    }
  }
}

/**
 * The synthetic dataset: uint8 images [N, 3, size, size] and int64 labels [N], N = 10 × perClass,
 * classes balanced and shuffled. 50,000 train images of 32×32 take about a second or two.
 */
export function syntheticDataset(options: SyntheticOptions): SyntheticSet {
  const { size, perClass, seed } = checkOptions(options);
  const rng = Rng.derive(seed, options.split === 'train' ? 0 : 1);
  const n = 10 * perClass;
  const order = rng.permutation(n);
  const pixels = new Uint8Array(n * 3 * size * size);
  const labels = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const cls = order[i] % 10;
    labels[i] = BigInt(cls);
    drawImage(pixels, i * 3 * size * size, size, cls, rng);
  }
  const device = options.device ?? 'cpu';
  return {
    kind: 'tensor',
    format: 'synthetic',
    split: options.split,
    images: tensor(pixels, { shape: [n, 3, size, size], device }),
    labels: tensor(labels, { device }),
    classes: SYNTHETIC_CLASSES.map((c) => c.name),
    seed,
  };
}
