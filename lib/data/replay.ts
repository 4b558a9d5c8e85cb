// Recorded batches, for feeding two implementations the same augmented inputs over a whole run:
// ReplayLoader is a Loader whose views come from a folder another trainer wrote (the Python twins'
// BatchRecorder, bench/parity/common.py) instead of this Loader's own augmentation; RecordingLoader is a
// Loader that also writes every batch it hands out in that format, for the twins' --replay-batches.
// Format (unmix-batches/1): batches.json {views, batch, shape: [C, H, W], itersPerEpoch, epochs} and per
// recorded epoch e, epoch-<e>.bin: one record per batch, int32 dataset indices [batch], then each view
// float32 [batch, C, H, W], little-endian. One record is read at a time, and the files' sizes are
// checked against the header before anything is allocated.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tensor } from '../creation';
import { scope } from '../memory';
import { Device } from '../tensor';
import { ImageSet, imageCount } from './dataset';
import { Batch, Loader, LoaderOptions } from './loader';

export interface RecordedBatches {
  views: number;
  batch: number;
  shape: [number, number, number];
  itersPerEpoch: number;
  epochs: number[];
}

const LIMIT = { views: 64, batch: 1 << 16, side: 1 << 14, iters: 1 << 24 };

/** Reads and checks `folder/batches.json`. */
export function readRecordedBatches(folder: string): RecordedBatches {
  const file = path.join(folder, 'batches.json');
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`ReplayLoader: cannot read ${file}: ${(e as Error).message}`);
  }
  const int = (v: unknown, max: number) => Number.isInteger(v) && (v as number) > 0 && (v as number) <= max;
  const shape = meta?.shape as number[];
  const epochs = meta?.epochs as number[];
  if (
    meta?.format !== 'unmix-batches/1' ||
    !int(meta.views, LIMIT.views) ||
    !int(meta.batch, LIMIT.batch) ||
    !Array.isArray(shape) ||
    shape.length !== 3 ||
    !shape.every((s) => int(s, LIMIT.side)) ||
    !int(meta.itersPerEpoch, LIMIT.iters) ||
    !Array.isArray(epochs) ||
    !epochs.every((e) => Number.isInteger(e) && e >= 0)
  )
    throw new Error(
      `ReplayLoader: ${file} is not an unmix-batches/1 header ({format, views, batch, shape: [C, H, W], itersPerEpoch, epochs})`,
    );
  return {
    views: meta.views as number,
    batch: meta.batch as number,
    shape: shape as [number, number, number],
    itersPerEpoch: meta.itersPerEpoch as number,
    epochs,
  };
}

/** A Loader that writes each full epoch's batches to `folder` as it serves them (one process, float32 views). */
export class RecordingLoader extends Loader {
  private readonly epochs: number[] = [];

  constructor(
    dataset: ImageSet,
    options: LoaderOptions,
    readonly folder: string,
  ) {
    super(dataset, options);
    if (this.shard) throw new Error('RecordingLoader: a recording is one process’s; run it without ranks');
    // the files are little-endian, as typed arrays are on x86 and ARM hosts
    if (os.endianness() !== 'LE') throw new Error('RecordingLoader: needs a little-endian host');
    fs.mkdirSync(folder, { recursive: true });
  }

  override async *epoch(epoch: number, options: { startBatch?: number } = {}): AsyncGenerator<Batch> {
    if (options.startBatch) throw new Error('RecordingLoader: records whole epochs; a resumed epoch is not recorded');
    const file = path.join(this.folder, `epoch-${epoch}.bin`);
    const out = await fs.promises.open(file, 'w');
    let count = 0;
    let meta: Omit<RecordedBatches, 'epochs' | 'itersPerEpoch'> | undefined;
    try {
      for await (const batch of super.epoch(epoch, options)) {
        const [c, h, w] = batch.views[0].shape.slice(1);
        meta ??= { views: batch.views.length, batch: batch.indices.length, shape: [c, h, w] };
        if (batch.indices.length !== meta.batch)
          throw new Error('RecordingLoader: every batch must be full (dropLast, as for training)');
        const parts: Buffer[] = [Buffer.from(Int32Array.from(batch.indices).buffer)];
        for (const v of batch.views) {
          // (views are float32, Batch's contract; data() is a copy in row-major order)
          const pixels = scope(() => v.to('cpu').data() as Float32Array);
          parts.push(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength));
        }
        await out.write(Buffer.concat(parts));
        count++;
        yield batch;
      }
    } finally {
      await out.close();
    }
    // the header names an epoch only once all of it is written
    this.epochs.push(epoch);
    const header = { format: 'unmix-batches/1', ...meta, itersPerEpoch: count, epochs: this.epochs };
    fs.writeFileSync(path.join(this.folder, 'batches.json'), JSON.stringify(header));
  }
}

export class ReplayLoader extends Loader {
  readonly recorded: RecordedBatches;
  private readonly recordBytes: number;

  constructor(
    dataset: ImageSet,
    options: LoaderOptions,
    readonly folder: string,
  ) {
    super(dataset, options);
    const r = readRecordedBatches(folder);
    const views = this.viewSpecs.reduce((n, v) => n + v.count, 0);
    if (r.batch !== this.batchSize || r.views !== views)
      throw new Error(
        `ReplayLoader: ${folder} holds batches of ${r.batch} images × ${r.views} views; this run takes ${this.batchSize} × ${views}`,
      );
    if (this.shard) throw new Error('ReplayLoader: recorded batches are one process’s; run it without ranks');
    this.recorded = r;
    this.recordBytes = 4 * r.batch * (1 + r.views * r.shape[0] * r.shape[1] * r.shape[2]);
  }

  override get length(): number {
    return this.recorded.itersPerEpoch;
  }

  override async *epoch(epoch: number, options: { startBatch?: number } = {}): AsyncGenerator<Batch> {
    const r = this.recorded;
    if (!r.epochs.includes(epoch))
      throw new Error(`ReplayLoader: epoch ${epoch} is not in ${this.folder} (recorded: ${r.epochs.join(', ')})`);
    const file = path.join(this.folder, `epoch-${epoch}.bin`);
    const handle = await fs.promises.open(file, 'r');
    try {
      const { size } = await handle.stat();
      if (size !== r.itersPerEpoch * this.recordBytes)
        throw new Error(
          `ReplayLoader: ${file} has ${size} bytes; ${r.itersPerEpoch} batches of ${this.recordBytes} bytes are ${r.itersPerEpoch * this.recordBytes}`,
        );
      const record = Buffer.alloc(this.recordBytes);
      for (let b = options.startBatch ?? 0; b < r.itersPerEpoch; b++) {
        await handle.read(record, 0, this.recordBytes, b * this.recordBytes);
        yield this.batchOf(record, b, file);
      }
    } finally {
      await handle.close();
    }
  }

  private batchOf(record: Buffer, index: number, file: string): Batch {
    const r = this.recorded;
    const indices = new Int32Array(r.batch);
    for (let i = 0; i < r.batch; i++) indices[i] = record.readInt32LE(4 * i);
    const n = imageCount(this.dataset);
    const bad = indices.find((i) => i < 0 || i >= n);
    if (bad !== undefined) throw new Error(`ReplayLoader: ${file} batch ${index} names image ${bad} of ${n}`);
    const device: Device = this.options.device ?? 'cpu';
    const perView = r.batch * r.shape[0] * r.shape[1] * r.shape[2];
    const views = Array.from({ length: r.views }, (_, v) => {
      // a copy: the record buffer is reused for the next batch
      const pixels = new Float32Array(perView);
      const start = 4 * (r.batch + v * perView);
      for (let i = 0; i < perView; i++) pixels[i] = record.readFloatLE(start + 4 * i);
      return tensor(pixels, { shape: [r.batch, ...r.shape], device });
    });
    const set = this.dataset;
    const labels = scope(() =>
      set.kind === 'tensor'
        ? set.labels.indexSelect(0, tensor(indices, { device: set.labels.device }).to('int64')).to(device)
        : tensor(
            Int32Array.from(indices, (i) => set.labels[i]),
            { device },
          ).to('int64'),
    );
    return { views, labels, indices, index, dispose: () => [...views, labels].forEach((t) => t.dispose()) };
  }
}
