// Image grids of tensors as PNG, as torchvision's make_grid + save_image: normalisation undone, values in
// [0, 1] scaled by 255 and rounded half up, cells in rows with padding between. Extras for looking at
// training data: integer upscaling (nearest), a coloured frame per cell, box outlines (Un-Mix regions)
// and a caption under each cell (SVG text composited by sharp; fonts from fontconfig).
import sharp from 'sharp';
import { noGrad } from '../autograd';
import { Pipeline } from '../data/pipeline';
import { tensor } from '../creation';
import { scope } from '../memory';
import { Tensor } from '../tensor';
import * as is from '../validate';

/** A PNG and its size. */
export interface Picture {
  png: Buffer;
  width: number;
  height: number;
}

export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

export type Rgb = [number, number, number];

export interface GridOptions {
  /** cells per row (default 8, torchvision's nrow) */
  columns?: number;
  /** pixels between cells and around the grid, after scaling (default 2) */
  padding?: number;
  /** undo this normalisation first (images were (x - mean) / std) */
  normalization?: Normalization;
  /** integer upscaling of each image, nearest neighbour (default 1) */
  scale?: number;
  /** background colour (default white) */
  background?: Rgb;
  /** a caption under each cell */
  captions?: (string | null | undefined)[];
  /** a frame of this colour in the padding around each cell, (padding - 1) / 2 pixels wide (at least 1) */
  frames?: (Rgb | null | undefined)[];
  /** an outline of box [a1, b1, a2, b2] (rows a1..a2, columns b1..b2 of the image, ends exclusive) */
  boxes?: (readonly [number, number, number, number] | null | undefined)[];
  /** outline colour (default red) */
  boxColor?: Rgb;
}

const CAPTION_HEIGHT = 14;

/** The mean and std of a pipeline's normalize step (the last one), if it has one. */
export function normalizationOf(pipeline: Pipeline): Normalization | undefined {
  const step = [...pipeline].reverse().find((s) => s.op === 'normalize');
  return step && step.op === 'normalize' ? { mean: step.mean, std: step.std } : undefined;
}

/** x·std + mean per channel: normalised images [N, C, H, W] back to [0, 1]. */
export function denormalize(images: Tensor, norm: Normalization): Tensor {
  const c = images.shape[1];
  if (norm.mean.length !== c || norm.std.length !== c)
    throw new Error(`denormalize: needs ${c} means and stds, got ${norm.mean.length} and ${norm.std.length}`);
  return scope(() => {
    const shape = [1, c, 1, 1];
    const at = (v: readonly number[]) => tensor([...v], { dtype: images.dtype, device: images.device }).view(shape);
    return images.mul(at(norm.std)).add(at(norm.mean));
  });
}

/** Images [N, C, H, W] (C 1 or 3; float in [0, 1] after normalisation is undone, or uint8) as one PNG grid. */
export async function imageGrid(images: Tensor, options: GridOptions = {}): Promise<Picture> {
  const { pixels, width, height, captions } = gridPixels(images, options);
  let image = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), {
    raw: { width, height, channels: 3 },
  });
  if (captions.length)
    image = image.composite([{ input: Buffer.from(captionSvg(width, height, captions)), top: 0, left: 0 }]);
  return { png: await image.png().toBuffer(), width, height };
}

interface Caption {
  x: number;
  y: number;
  text: string;
}

/** The grid as RGB bytes (row-major, 3 per pixel) and where captions go; imageGrid encodes it. */
export function gridPixels(
  images: Tensor,
  options: GridOptions = {},
): { pixels: Uint8Array; width: number; height: number; captions: Caption[] } {
  if (!(images instanceof Tensor) || images.ndim !== 4 || ![1, 3].includes(images.shape[1])) {
    throw new Error(
      `imageGrid: images must be a tensor [N, C, H, W] with C 1 or 3, got ${images instanceof Tensor ? `shape [${images.shape.join(', ')}]` : typeof images}`,
    );
  }
  const [n, c, h, w] = images.shape;
  if (n === 0) throw new Error('imageGrid: images must hold at least one image, got none');
  const columns = is.positiveInt('imageGrid', 'columns', options.columns ?? 8);
  const scale = is.positiveInt('imageGrid', 'scale', options.scale ?? 1);
  const padding = options.padding ?? 2;
  is.nonNegativeInt('imageGrid', 'padding', padding);
  checkPerImage('captions', options.captions, n);
  checkPerImage('frames', options.frames, n);
  checkPerImage('boxes', options.boxes, n);
  if (options.frames && padding < 2) throw new RangeError(`imageGrid: frames need padding >= 2, got ${padding}`);
  // frames of neighbouring cells share the padding between them, so each takes under half of it
  const frameWidth = Math.max(1, Math.floor((padding - 1) / 2));
  const bytes = toBytes(images, options.normalization);

  const cols = Math.min(columns, n);
  const rows = Math.ceil(n / cols);
  const captionHeight = options.captions ? CAPTION_HEIGHT : 0;
  const cellW = w * scale + padding;
  const cellH = h * scale + padding + captionHeight;
  const width = cols * cellW + padding;
  const height = rows * cellH + padding;
  const pixels = new Uint8Array(width * height * 3);
  const [br, bg, bb] = options.background ?? [255, 255, 255];
  for (let i = 0; i < width * height; i++) pixels.set([br, bg, bb], i * 3);
  const fill = (x0: number, y0: number, x1: number, y1: number, rgb: Rgb) => {
    for (let y = Math.max(0, y0); y < Math.min(height, y1); y++)
      for (let x = Math.max(0, x0); x < Math.min(width, x1); x++) pixels.set(rgb, (y * width + x) * 3);
  };
  const captions: Caption[] = [];
  for (let i = 0; i < n; i++) {
    const left = padding + (i % cols) * cellW;
    const top = padding + Math.floor(i / cols) * cellH;
    const frame = options.frames?.[i];
    if (frame)
      fill(left - frameWidth, top - frameWidth, left + w * scale + frameWidth, top + h * scale + frameWidth, frame);
    for (let y = 0; y < h * scale; y++) {
      for (let x = 0; x < w * scale; x++) {
        const src = Math.floor(y / scale) * w + Math.floor(x / scale);
        const dst = ((top + y) * width + left + x) * 3;
        for (let k = 0; k < 3; k++) pixels[dst + k] = bytes[(i * c + (c === 3 ? k : 0)) * h * w + src];
      }
    }
    const box = options.boxes?.[i];
    if (box)
      outline(
        fill,
        left + box[1] * scale,
        top + box[0] * scale,
        left + box[3] * scale,
        top + box[2] * scale,
        options.boxColor ?? [255, 0, 0],
      );
    const caption = options.captions?.[i];
    if (caption) captions.push({ x: left + (w * scale) / 2, y: top + h * scale + captionHeight - 3, text: caption });
  }
  return { pixels, width, height, captions };
}

/** uint8 values, channel-first, of images as save_image makes them: clamp(x·255 + 0.5, 0, 255) truncated. */
function toBytes(images: Tensor, norm: Normalization | undefined): Uint8Array {
  const c = images.shape[1];
  if (norm && (norm.mean.length !== c || norm.std.length !== c)) {
    throw new Error(
      `imageGrid: normalization needs ${c} means and stds, got ${norm.mean.length} and ${norm.std.length}`,
    );
  }
  const data = noGrad(() =>
    scope(() =>
      images
        .detach()
        .to({ device: 'cpu', dtype: images.dtype === 'uint8' ? 'uint8' : 'float32' })
        .contiguous()
        .data(),
    ),
  );
  if (images.dtype === 'uint8') return data as Uint8Array;
  const plane = images.shape[2] * images.shape[3];
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const ch = Math.floor(i / plane) % c;
    const v = norm ? (data[i] as number) * norm.std[ch] + norm.mean[ch] : (data[i] as number);
    out[i] = Math.min(255, Math.max(0, Math.floor(v * 255 + 0.5)));
  }
  return out;
}

function outline(
  fill: (x0: number, y0: number, x1: number, y1: number, rgb: Rgb) => void,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  rgb: Rgb,
): void {
  if (x1 <= x0 || y1 <= y0) return;
  fill(x0, y0, x1, y0 + 1, rgb);
  fill(x0, y1 - 1, x1, y1, rgb);
  fill(x0, y0, x0 + 1, y1, rgb);
  fill(x1 - 1, y0, x1, y1, rgb);
}

function captionSvg(width: number, height: number, captions: Caption[]): string {
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const texts = captions.map((c) => `<text x="${c.x}" y="${c.y}">${escape(c.text)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><g font-family="DejaVu Sans, sans-serif" font-size="10" text-anchor="middle" fill="#222">${texts}</g></svg>`;
}

function checkPerImage(name: string, list: unknown[] | undefined, n: number): void {
  if (list !== undefined && (!Array.isArray(list) || list.length !== n)) {
    throw new Error(
      `imageGrid: ${name} must list one entry per image (${n}), got ${Array.isArray(list) ? list.length : typeof list}`,
    );
  }
}
