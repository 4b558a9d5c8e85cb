// The display of `unmix download`: a progress bar (or plain lines off a terminal) around
// downloadCifar, which itself only reports numbers (data/download.ts).
import { SingleBar } from 'cli-progress';
import { CIFAR_ARCHIVES, downloadCifar, DownloadProgress } from '../data/download';

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

/**
 * A progress display for downloads: a bar with bytes, speed and ETA on a terminal, a plain line every
 * 10% (or 10 s without one) otherwise, so logs stay readable.
 */
export function progressReporter(label: string, stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr) {
  let bar: SingleBar | undefined;
  let lastLine = 0;
  let lastTenth = -1;
  let last: DownloadProgress | undefined;
  const onProgress = (p: DownloadProgress) => {
    last = p;
    const payload = {
      got: mib(p.received),
      size: p.total !== undefined ? mib(p.total) : '?',
      speed: `${mib(p.bytesPerSecond)}/s`,
    };
    if (stream.isTTY) {
      if (!bar) {
        bar = new SingleBar({
          stream: stream as NodeJS.WriteStream,
          format: `${label} [{bar}] {percentage}% | {got} / {size} | {speed} | ETA {eta_formatted}`,
          hideCursor: true,
          etaBuffer: 50,
        });
        bar.start(p.total ?? 0, p.received, payload);
      }
      if (p.total !== undefined && bar.getTotal() !== p.total) bar.setTotal(p.total);
      bar.update(p.received, payload);
      return;
    }
    const tenth = p.total ? Math.floor((10 * p.received) / p.total) : -1;
    const now = Date.now();
    if (tenth > lastTenth || now - lastLine >= 10000) {
      const percent = p.total ? ` (${Math.floor((100 * p.received) / p.total)}%)` : '';
      stream.write(
        `${label}: ${payload.got} / ${payload.size}${percent}, ${payload.speed}${p.resumedFrom ? `, resumed at ${mib(p.resumedFrom)}` : ''}\n`,
      );
      lastTenth = tenth;
      lastLine = now;
    }
  };
  const stop = () => {
    bar?.stop();
    bar = undefined;
    return last;
  };
  return { onProgress, stop };
}

/**
 * `unmix download cifar10|cifar100 [--dir D]`: downloads with a progress display on stderr, prints the
 * archive's path on stdout and returns it. `url` points at a mirror (still checked against the official MD5).
 */
export async function downloadCommand(
  dataset: string,
  options: { dir?: string; url?: string } = {},
  io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream & { isTTY?: boolean } } = {},
): Promise<string> {
  const variants: Record<string, 10 | 100> = { cifar10: 10, 'cifar-10': 10, cifar100: 100, 'cifar-100': 100 };
  const variant = variants[String(dataset).toLowerCase()];
  if (variant === undefined)
    throw new Error(
      `download: unknown dataset ${JSON.stringify(dataset)}; expected cifar10 or cifar100 (the synthetic dataset needs no download)`,
    );
  const stdout = io.stdout ?? process.stdout;
  const progress = progressReporter(`CIFAR-${variant}`, io.stderr ?? process.stderr);
  try {
    const file = await downloadCifar(variant, { dir: options.dir, url: options.url, onProgress: progress.onProgress });
    progress.stop();
    stdout.write(`${file} (CIFAR-${variant}, md5 ${CIFAR_ARCHIVES[variant].md5} verified)\n`);
    return file;
  } finally {
    progress.stop();
  }
}
