// The per-epoch progress display, always on stderr: a cli-progress bar on a terminal (loss, lr, images/s,
// ETA), cleared when the epoch ends; one line per epoch where a bar cannot be drawn (progress: true on a
// pipe, or in a REPL, whose prompt a redrawn bar would overwrite); nothing with 'auto' off a terminal.
import { SingleBar } from 'cli-progress';

export interface ProgressOptions {
  enabled: boolean | 'auto';
  total: number;
  epoch: number;
  epochs: number;
  /** where lines and the bar go (default process.stderr) */
  stream?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };
}

export type ProgressMode = 'bar' | 'lines' | 'off';

/** Node's REPL (`node`, or `npx tsx` without a script): no script in argv and a terminal on stdin. */
export function inRepl(): boolean {
  return process.argv.length < 2 && Boolean(process.stdin.isTTY);
}

/** What to draw: a bar only on a terminal outside a REPL and CI; lines when asked for (true) where a bar cannot be drawn. */
export function progressMode(
  enabled: boolean | 'auto',
  at: { tty: boolean; repl: boolean; ci: boolean },
): ProgressMode {
  if (enabled === false) return 'off';
  const bar = at.tty && !at.repl && (enabled === true || !at.ci);
  if (bar) return 'bar';
  return enabled === true ? 'lines' : 'off';
}

export class Progress {
  private bar: SingleBar | null = null;
  private readonly mode: ProgressMode;
  private readonly stream: NonNullable<ProgressOptions['stream']>;
  private done = 0;
  private last: { loss: number; lr: number; imagesPerSecond: number } | null = null;
  private readonly started = performance.now();

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.mode = progressMode(options.enabled, {
      tty: Boolean(this.stream.isTTY),
      repl: inRepl(),
      ci: Boolean(process.env.CI),
    });
  }

  start(done: number): void {
    this.done = done;
    if (this.mode !== 'bar') return;
    this.bar = new SingleBar({
      format: `epoch ${this.options.epoch}/${this.options.epochs} {bar} {value}/{total} | loss {loss} | lr {lr} | {ips} img/s | ETA {eta_formatted}`,
      hideCursor: true,
      stream: this.stream as NodeJS.WriteStream,
      etaBuffer: 20,
      clearOnComplete: true,
    });
    this.bar.start(this.options.total, done, { loss: '-', lr: '-', ips: '-' });
  }

  update(done: number, values: { loss: number; lr: number; imagesPerSecond: number }): void {
    this.done = done;
    this.last = values;
    this.bar?.update(done, {
      loss: values.loss.toFixed(4),
      lr: values.lr.toPrecision(3),
      ips: values.imagesPerSecond.toFixed(0),
    });
  }

  /** Clears the bar, or writes the epoch's one line. */
  stop(): void {
    this.bar?.stop();
    this.bar = null;
    if (this.mode !== 'lines') return;
    const v = this.last;
    const stats = v
      ? `, loss ${v.loss.toFixed(4)}, lr ${v.lr.toPrecision(3)}, ${v.imagesPerSecond.toFixed(0)} img/s`
      : '';
    this.stream.write(
      `epoch ${this.options.epoch}/${this.options.epochs}: ${this.done}/${this.options.total} batches${stats}, ${((performance.now() - this.started) / 1000).toFixed(1)} s\n`,
    );
  }
}
