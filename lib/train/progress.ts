// The per-epoch progress display: a cli-progress bar on a terminal (loss, lr, images/s, ETA), and
// nothing on a pipe or in CI, where the trainer's per-epoch summary lines are the log.
import { SingleBar } from 'cli-progress';

export interface ProgressOptions {
  enabled: boolean | 'auto';
  total: number;
  epoch: number;
  epochs: number;
}

export class Progress {
  private bar: SingleBar | null = null;

  constructor(private readonly options: ProgressOptions) {}

  start(done: number): void {
    const on = this.options.enabled === 'auto' ? Boolean(process.stderr.isTTY) && !process.env.CI : this.options.enabled;
    if (!on) return;
    this.bar = new SingleBar({
      format: `epoch ${this.options.epoch}/${this.options.epochs} {bar} {value}/{total} | loss {loss} | lr {lr} | {ips} img/s | ETA {eta_formatted}`,
      hideCursor: true,
      stream: process.stderr,
      etaBuffer: 20,
      clearOnComplete: true,
    });
    this.bar.start(this.options.total, done, { loss: '-', lr: '-', ips: '-' });
  }

  update(done: number, values: { loss: number; lr: number; imagesPerSecond: number }): void {
    this.bar?.update(done, { loss: values.loss.toFixed(4), lr: values.lr.toPrecision(3), ips: values.imagesPerSecond.toFixed(0) });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
