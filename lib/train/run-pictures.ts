// What the trainer draws besides its logs: curves.png in the results folder (redrawn after each epoch,
// off the training thread, never failing the run), and TensorBoard event files (per-step and per-epoch
// scalars, a picture of the first batch's views and Un-Mix mixtures).
import * as path from 'path';
import { writeFileAtomic } from '../io/safetensors';
import { Rng } from '../rng';
import { SslMethod } from '../ssl/method';
import { UnmixOptions } from '../ssl/unmix';
import { SummaryWriter } from '../tensorboard/writer';
import { Tensor } from '../tensor';
import * as F from '../functional';
import { scope } from '../memory';
import { curvesChart } from '../viz/charts';
import { imageGrid, Normalization } from '../viz/grid';
import { unmixPicture } from '../viz/unmix-picture';
import type { EpochRecord } from './trainer';

/** The Rng stream of the first-batch picture's λ and box: apart from training's, which it must not move. */
const PICTURE_STREAM = 0x91c7;

export interface RunPicturesOptions {
  resultsDir: string;
  curves: boolean;
  /** a folder for event files, or null for none */
  tensorboardDir: string | null;
  seed: number;
  warn: (line: string) => void;
}

export class RunPictures {
  readonly writer: SummaryWriter | null;
  private drawing: Promise<void> = Promise.resolve();
  private queued = false;
  private latest: EpochRecord[] = [];
  private readonly warned = new Set<string>();

  constructor(private readonly o: RunPicturesOptions) {
    this.writer = o.tensorboardDir ? new SummaryWriter(o.tensorboardDir) : null;
  }

  /** The per-step scalars (step = the 0-based iteration). */
  step(iteration: number, loss: number, lr: number, logs: Record<string, number>): void {
    if (!this.writer) return;
    this.writer.addScalar('train/loss', loss, iteration);
    this.writer.addScalar('train/lr', lr, iteration);
    // the method's own terms apart: some log a 'loss' of their own
    for (const [k, v] of Object.entries(logs)) this.writer.addScalar(`train/terms/${k}`, v, iteration);
  }

  /** After an epoch (or the epoch-0 baseline): epoch scalars, and curves.png redrawn. */
  epoch(record: EpochRecord, history: EpochRecord[]): void {
    if (this.writer) {
      const e = record.epoch;
      if (e > 0) {
        if (record.train_loss !== null) this.writer.addScalar('epoch/train_loss', record.train_loss, e);
        this.writer.addScalar('epoch/lr', record.lr, e);
        this.writer.addScalar('epoch/images_per_s', record.images_per_s, e);
      }
      if (record['test_acc@1'] !== null) this.writer.addScalar('epoch/test_acc@1', record['test_acc@1'], e);
      this.writer.flush();
    }
    if (this.o.curves && history.some((r) => r.epoch > 0)) this.redraw(history);
  }

  /** The first batch's views (and, when the method mixes, its Un-Mix mixtures) as a TensorBoard image. */
  async firstBatch(
    views: Tensor[],
    method: SslMethod,
    normalization: Normalization | undefined,
    iteration: number,
  ): Promise<void> {
    if (!this.writer) return;
    try {
      const unmix = (method as { options?: { unmix?: UnmixOptions } }).options?.unmix;
      const picture = unmix?.enabled
        ? await unmixPicture(views, { normalization, beta: unmix.beta, rng: Rng.derive(this.o.seed, PICTURE_STREAM) })
        : await viewsPicture(views, normalization);
      this.writer.addImage(unmix?.enabled ? 'train/views_and_mixtures' : 'train/views', picture, iteration);
      this.writer.flush();
    } catch (e) {
      this.warn('tensorboard', `the first batch's picture was not written to TensorBoard: ${(e as Error).message}`);
    }
  }

  /** Waits for the last curves.png and flushes the event file. */
  async close(): Promise<void> {
    await this.drawing;
    this.writer?.close();
  }

  /** Queues one redraw with the newest history; redraws asked for while one waits are merged. */
  private redraw(history: EpochRecord[]): void {
    this.latest = history.map((r) => ({ ...r }));
    if (this.queued) return;
    this.queued = true;
    this.drawing = this.drawing.then(async () => {
      this.queued = false;
      try {
        const picture = await curvesChart([
          { name: path.basename(path.resolve(this.o.resultsDir)), history: this.latest },
        ]);
        writeFileAtomic(path.join(this.o.resultsDir, 'curves.png'), [picture.png]);
      } catch (e) {
        this.warn('curves', `curves.png not drawn: ${(e as Error).message}`);
      }
    });
  }

  /** Warns once per kind, not every epoch. */
  private warn(kind: string, message: string): void {
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    this.o.warn(`warning: ${message} (training goes on)`);
  }
}

function viewsPicture(views: Tensor[], normalization: Normalization | undefined) {
  const count = Math.min(8, views[0].shape[0]);
  const rows = scope(() =>
    F.cat(
      views
        .filter((v) => v.shape[2] === views[0].shape[2])
        .map((v) => v.narrow(0, 0, count).to({ device: 'cpu', dtype: 'float32' })),
    ),
  );
  return imageGrid(rows, { columns: count, normalization, scale: 2 }).finally(() => rows.dispose());
}
