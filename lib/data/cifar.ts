// CIFAR-10 and CIFAR-100 in their official binary layouts, from the extracted folder
// (cifar-10-batches-bin, cifar-100-binary) or straight from the downloaded .tar.gz.
// Records: CIFAR-10 = 1 label byte + 3,072 pixel bytes; CIFAR-100 = coarse + fine label bytes +
// 3,072 pixel bytes; pixels are the R plane, then G, then B, each 32×32 row-major.
import * as fs from 'fs';
import * as path from 'path';
import * as tar from 'tar';
import { tensor } from '../creation';
import { Device, Tensor } from '../tensor';
import { TensorImageSet } from './dataset';

/** images: uint8 [N, 3, 32, 32]; labels: int64 [N], the (fine) class of each image. */
export interface CifarSplit extends TensorImageSet {
  format: 'cifar-10-binary' | 'cifar-100-binary';
  /** CIFAR-100 only: int64 [N] superclass of each image */
  coarseLabels?: Tensor;
  coarseClasses?: string[];
  variant: 10 | 100;
}

const PIXELS = 3 * 32 * 32;
const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const LAYOUTS = {
  10: {
    dir: 'cifar-10-batches-bin',
    train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`),
    test: ['test_batch.bin'],
    labelBytes: 1,
    classes: 10,
  },
  100: { dir: 'cifar-100-binary', train: ['train.bin'], test: ['test.bin'], labelBytes: 2, classes: 100 },
} as const;

/** name (relative to the dataset folder) -> contents, from a folder or a .tar.gz. */
function readFiles(source: string): { variant: 10 | 100; read: (name: string) => Buffer | undefined } {
  if (!fs.existsSync(source)) throw new Error(`CIFAR: ${source} does not exist`);
  if (fs.statSync(source).isFile()) {
    const files = new Map<string, Buffer>();
    try {
      tar.t({
        file: source,
        sync: true,
        onReadEntry: (entry) => {
          const chunks: Buffer[] = [];
          entry.on('data', (c: Buffer) => chunks.push(c));
          entry.on('end', () => files.set(entry.path, Buffer.concat(chunks)));
        },
      });
    } catch (e) {
      throw new Error(`CIFAR: ${source} is not a readable .tar.gz (${(e as Error).message})`);
    }
    for (const variant of [10, 100] as const) {
      const dir = LAYOUTS[variant].dir;
      if ([...files.keys()].some((k) => k.startsWith(`${dir}/`)))
        return { variant, read: (name) => files.get(`${dir}/${name}`) };
    }
    throw new Error(`CIFAR: ${source} holds neither cifar-10-batches-bin/ nor cifar-100-binary/`);
  }
  for (const variant of [10, 100] as const) {
    const { dir, test } = LAYOUTS[variant];
    for (const folder of [source, path.join(source, dir)]) {
      if (fs.existsSync(path.join(folder, test[0])) || (path.basename(folder) === dir && fs.existsSync(folder))) {
        return {
          variant,
          read: (name) =>
            fs.existsSync(path.join(folder, name)) ? fs.readFileSync(path.join(folder, name)) : undefined,
        };
      }
    }
  }
  throw new Error(
    `CIFAR: ${source} is not a CIFAR binary folder (expected cifar-10-batches-bin/ or cifar-100-binary/ with their .bin files)`,
  );
}

function names(text: Buffer | undefined, count: number, fallback?: readonly string[]): string[] {
  const list = text
    ? text
        .toString('utf8')
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
  if (list.length === count) return list;
  return fallback ? [...fallback] : Array.from({ length: count }, (_, i) => `class_${i}`);
}

/** Loads one split as uint8 images and int64 labels (on `device`, default cpu). */
export function loadCifar(source: string, options: { split: 'train' | 'test'; device?: Device }): CifarSplit {
  const { variant, read } = readFiles(source);
  const layout = LAYOUTS[variant];
  const record = layout.labelBytes + PIXELS;
  const batches = layout[options.split].map((name) => {
    const data = read(name);
    if (!data) throw new Error(`CIFAR-${variant}: ${name} is missing from ${source}`);
    if (data.byteLength === 0 || data.byteLength % record !== 0) {
      throw new Error(
        `CIFAR-${variant}: ${name} has ${data.byteLength} bytes, not a whole number of ${record}-byte records (truncated or not CIFAR-${variant})`,
      );
    }
    return { name, data };
  });
  const n = batches.reduce((s, b) => s + b.data.byteLength / record, 0);
  const pixels = new Uint8Array(n * PIXELS);
  const fine = new BigInt64Array(n);
  const coarse = variant === 100 ? new BigInt64Array(n) : undefined;
  let i = 0;
  for (const { name, data } of batches) {
    for (let offset = 0; offset < data.byteLength; offset += record, i++) {
      const label = data[offset + layout.labelBytes - 1];
      if (label >= layout.classes)
        throw new Error(
          `CIFAR-${variant}: ${name} record ${offset / record} has label ${label} (expected < ${layout.classes})`,
        );
      fine[i] = BigInt(label);
      if (coarse) {
        if (data[offset] >= 20)
          throw new Error(
            `CIFAR-100: ${name} record ${offset / record} has coarse label ${data[offset]} (expected < 20)`,
          );
        coarse[i] = BigInt(data[offset]);
      }
      pixels.set(data.subarray(offset + layout.labelBytes, offset + record), i * PIXELS);
    }
  }
  const device = options.device ?? 'cpu';
  const split: CifarSplit = {
    kind: 'tensor',
    format: variant === 10 ? 'cifar-10-binary' : 'cifar-100-binary',
    split: options.split,
    images: tensor(pixels, { shape: [n, 3, 32, 32], device }),
    labels: tensor(fine, { device }),
    classes:
      variant === 10 ? names(read('batches.meta.txt'), 10, CIFAR10_CLASSES) : names(read('fine_label_names.txt'), 100),
    variant,
  };
  if (coarse) {
    split.coarseLabels = tensor(coarse, { device });
    split.coarseClasses = names(read('coarse_label_names.txt'), 20);
  }
  return split;
}
