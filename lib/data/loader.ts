// Batches for training and evaluation. Everything random is a pure function of (seed, epoch, batch):
// the order comes from Rng.derive(seed, epoch), each batch's augmentation from Rng.derive(seed, epoch,
// batch + 1), so a run resumed at any batch sees exactly what the uninterrupted run would have seen.
// Sharded (one rank of N, shard.ts): the order is torch's DistributedSampler's instead, and the
// augmentation streams also carry the rank, so ranks do not crop their i-th images alike.
// The next batch is started before the current one is handed out: on CUDA its kernels queue behind the
// training step, and encoded images decode on libuv threads (sharp) meanwhile.
import sharp from 'sharp';
import { tensor } from '../creation';
import { scope } from '../memory';
import { Rng } from '../rng';
import { Device, Tensor } from '../tensor';
import { applyTo } from './augment';
import { EncodedImageSet, ImageSet, imageCount } from './dataset';
import { applyColour, applyPipeline, drawGeometry, Pipeline, validatePipeline, ViewSpec } from './pipeline';
import { isInitialized, defaultGroup } from '../distributed/init';
import { checkShard, Shard, shardIndices, shardSize } from './shard';
import * as is from '../validate';

export interface LoaderOptions {
  batchSize: number;
  /** training: the views each image yields (presets in presets.ts); evaluation: leave out and give `pipeline` */
  views?: ViewSpec[];
  /** evaluation: one deterministic view (e.g. presets.evalCifar()); default: pixels in [0, 1] */
  pipeline?: Pipeline;
  /** default: true with `views`, false otherwise */
  shuffle?: boolean;
  /** default: true with `views` (the reference drops the last partial batch), false otherwise */
  dropLast?: boolean;
  seed?: number;
  /** where batches are made (default: where the dataset's images are, cpu for encoded sets) */
  device?: Device;
  /**
   * this rank's part of the data, as torch's DistributedSampler (seed + epoch, padded to a multiple of
   * worldSize): {rank, worldSize}; true: the default process group's; false: all of it. Default: training
   * loaders (`views`) take the default group's when one is initialized with more than one rank; evaluation
   * loaders see all of the data (the kNN bank and the linear probe want every image on every rank).
   */
  shard?: boolean | Shard;
}

export interface Batch {
  /** one float32 [B, 3, h, w] tensor per view, in ViewSpec order (one for evaluation) */
  views: Tensor[];
  /** int64 [B] */
  labels: Tensor;
  /** dataset indices of the batch's images */
  indices: Int32Array;
  /** position of this batch in its epoch */
  index: number;
  /** frees the batch's tensors */
  dispose(): void;
}

export class Loader {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly seed: number;
  /** the rank's part it serves, or null for all of the data */
  readonly shard: Shard | null;
  private readonly views: ViewSpec[];

  constructor(
    readonly dataset: ImageSet,
    protected readonly options: LoaderOptions,
  ) {
    is.positiveInt('Loader', 'batchSize', options.batchSize);
    if (options.shuffle !== undefined) is.boolean('Loader', 'shuffle', options.shuffle);
    if (options.dropLast !== undefined) is.boolean('Loader', 'dropLast', options.dropLast);
    if (options.seed !== undefined) is.integer('Loader', 'seed', options.seed);
    if (options.views && options.pipeline)
      throw new Error('Loader: give either views (training) or pipeline (evaluation), not both');
    this.batchSize = options.batchSize;
    const training = options.views !== undefined;
    this.shuffle = options.shuffle ?? training;
    this.dropLast = options.dropLast ?? training;
    this.seed = options.seed ?? 0;
    this.shard = resolveShard(options.shard, training);
    this.views = options.views ?? [{ pipeline: options.pipeline ?? [], count: 1 }];
    for (const v of this.views) {
      is.positiveInt('Loader', 'a view count', v.count);
      validatePipeline(v.pipeline);
    }
    const n = imageCount(dataset);
    if (n === 0) throw new Error(`Loader: the dataset (${dataset.format}, ${dataset.split}) has no images`);
    const per = this.shard ? ` (${this.size} per rank of ${this.shard.worldSize})` : '';
    if (this.dropLast && this.size < this.batchSize)
      throw new Error(`Loader: ${n} images${per} cannot fill one batch of ${this.batchSize} with dropLast`);
  }

  /** The views each image yields (evaluation: one view of the pipeline). */
  get viewSpecs(): readonly ViewSpec[] {
    return this.views;
  }

  /** Images per epoch (this rank's, when sharded). */
  get size(): number {
    const n = imageCount(this.dataset);
    return this.shard ? shardSize(n, this.shard.worldSize) : n;
  }

  /** Batches per epoch. */
  get length(): number {
    return this.dropLast ? Math.floor(this.size / this.batchSize) : Math.ceil(this.size / this.batchSize);
  }

  /** Dataset indices in the order epoch `epoch` visits them (this rank's, when sharded). */
  order(epoch: number): Int32Array {
    const n = imageCount(this.dataset);
    if (this.shard) return shardIndices(n, this.shard, { shuffle: this.shuffle, seed: this.seed, epoch });
    return this.shuffle ? Rng.derive(this.seed, epoch).permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
  }

  /** The batches of one epoch, from `startBatch` on (resume). The caller disposes each batch. */
  async *epoch(epoch: number, options: { startBatch?: number } = {}): AsyncGenerator<Batch> {
    const order = this.order(epoch);
    const start = options.startBatch ?? 0;
    let next: Promise<Batch> | undefined = start < this.length ? this.makeBatch(order, epoch, start) : undefined;
    for (let b = start; b < this.length; b++) {
      const current = await next!;
      next = b + 1 < this.length ? this.makeBatch(order, epoch, b + 1) : undefined;
      // a failure preparing the next batch surfaces when it is awaited, not as an unhandled rejection
      next?.catch(() => undefined);
      yield current;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    yield* this.epoch(0);
  }

  /** {images: first view, labels} per batch (the shape kNN and linear evaluation take); each batch is freed when the next is requested. */
  async *labelled(epoch = 0): AsyncGenerator<{ images: Tensor; labels: Tensor }> {
    for await (const batch of this.epoch(epoch)) {
      try {
        yield { images: batch.views[0], labels: batch.labels };
      } finally {
        batch.dispose();
      }
    }
  }

  /** Builds batch `b` of an epoch: always the same tensors for the same (seed, epoch, b). */
  private async makeBatch(order: Int32Array, epoch: number, b: number): Promise<Batch> {
    const indices = order.subarray(b * this.batchSize, Math.min((b + 1) * this.batchSize, order.length));
    const rng = this.shard ? Rng.derive(this.seed, epoch, b + 1, this.shard.rank) : Rng.derive(this.seed, epoch, b + 1);
    const set = this.dataset;
    const views =
      set.kind === 'tensor' ? this.tensorViews(set.images, indices, rng) : await this.encodedViews(set, indices, rng);
    const labels = scope(() => {
      const index = tensor(indices, { device: set.kind === 'tensor' ? set.labels.device : 'cpu' }).to('int64');
      const l =
        set.kind === 'tensor'
          ? set.labels.indexSelect(0, index)
          : tensor(Int32Array.from(indices, (i) => set.labels[i])).to('int64');
      return l.to(this.device(views[0]?.device));
    });
    return { views, labels, indices, index: b, dispose: () => [...views, labels].forEach((t) => t.dispose()) };
  }

  private device(fallback?: Device): Device {
    return this.options.device ?? fallback ?? 'cpu';
  }

  private tensorViews(images: Tensor, indices: Int32Array, rng: Rng): Tensor[] {
    return scope(() => {
      const index = tensor(indices, { device: images.device }).to('int64');
      const batch = images.indexSelect(0, index).to(this.device(images.device));
      return this.views.flatMap((v) => Array.from({ length: v.count }, () => applyPipeline(batch, v.pipeline, rng)));
    });
  }

  /** Encoded images: decode once per image, crop/resize/flip each view with sharp (libuv threads), colour on the device. */
  private async encodedViews(set: EncodedImageSet, indices: Int32Array, rng: Rng): Promise<Tensor[]> {
    const { decodeRgb } = await import('./decode');
    const decoded = await Promise.all(Array.from(indices, async (i) => decodeRgb(await set.read(i), set.source(i))));
    const sizes = decoded.map((d) => [d.height, d.width] as [number, number]);
    const out: Tensor[] = [];
    for (const v of this.views) {
      for (let c = 0; c < v.count; c++) {
        const g = drawGeometry(v.pipeline, sizes, rng);
        const pixels = await Promise.all(decoded.map((d, k) => cropResizeFlip(d, g, k)));
        const [h, w] = [pixels[0].height, pixels[0].width];
        const bad = pixels.findIndex((p) => p.height !== h || p.width !== w);
        if (bad >= 0)
          throw new Error(
            `Loader: ${set.source(indices[bad])} gives ${pixels[bad].height}x${pixels[bad].width} after the pipeline's geometry, others ${h}x${w}; add a crop to the pipeline`,
          );
        const all = Buffer.concat(pixels.map((p) => p.data));
        out.push(
          scope(() => {
            const hwc = tensor(new Uint8Array(all.buffer, all.byteOffset, all.byteLength), {
              shape: [indices.length, h, w, 3],
            });
            const x = hwc.permute(0, 3, 1, 2).to(this.device()).float().div(255);
            const flipped = g.flips.flatMap((f, i) => (f ? [i] : []));
            return applyColour(
              applyTo(x, flipped, (s) => s.flip(3)),
              v.pipeline,
              rng,
            );
          }),
        );
      }
    }
    return out;
  }
}

/** The shard option resolved: explicit, the default group's, or none. */
function resolveShard(option: LoaderOptions['shard'], training: boolean): Shard | null {
  if (option === false) return null;
  if (option === undefined || option === true) {
    if (option === undefined && !training) return null;
    if (!isInitialized()) {
      if (option) throw new Error('Loader: shard: true takes the default process group; call initProcessGroup() first');
      return null;
    }
    const g = defaultGroup();
    return g.worldSize > 1 ? { rank: g.rank, worldSize: g.worldSize } : null;
  }
  return checkShard('Loader', option);
}

/** One image through the drawn geometry with sharp: RandomResizedCrop box + resize (antialiased, as PIL), or Resize + CenterCrop. */
async function cropResizeFlip(
  image: { data: Buffer; width: number; height: number },
  g: ReturnType<typeof drawGeometry>,
  k: number,
): Promise<{ data: Buffer; width: number; height: number }> {
  let img = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  let [h, w] = [image.height, image.width];
  if (g.boxes) {
    const b = g.boxes[k];
    img = img
      .extract({ left: b.left, top: b.top, width: b.width, height: b.height })
      .resize(g.outW, g.outH, { fit: 'fill', kernel: 'linear' });
    [h, w] = [g.outH, g.outW];
  } else {
    if (g.resize !== undefined) {
      [h, w] = h <= w ? [g.resize, Math.floor((g.resize * w) / h)] : [Math.floor((g.resize * h) / w), g.resize];
      img = sharp(await img.resize(w, h, { fit: 'fill', kernel: 'linear' }).raw().toBuffer(), {
        raw: { width: w, height: h, channels: 3 },
      });
    }
    if (g.centerCrop) {
      const [ch, cw] = g.centerCrop;
      if (ch > h || cw > w) throw new RangeError(`centerCrop ${ch}x${cw} is larger than the ${h}x${w} image`);
      img = img.extract({ left: Math.round((w - cw) / 2), top: Math.round((h - ch) / 2), width: cw, height: ch });
      [h, w] = [ch, cw];
    }
  }
  const data = await img.raw().toBuffer();
  return { data, width: w, height: h };
}
