// Vega-Lite spec → SVG (vega on a worker thread, vega-worker.mjs) → PNG (sharp). The worker starts on
// the first chart, holds the process only while a chart is pending, and stops after a few idle seconds.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { Worker } from 'worker_threads';
import { Picture } from './grid';
import * as is from '../validate';

const IDLE_MS = 5000;

interface Pending {
  resolve: (svg: string) => void;
  reject: (e: Error) => void;
}

/** The current worker and the charts it owes (an old worker stopping fails only its own). */
let current: { worker: Worker; waiting: Map<number, Pending> } | undefined;
let idleTimer: NodeJS.Timeout | undefined;
let nextId = 0;

/** The worker script: beside this file under lib/, or lib/viz/ of the package when running from dist/. */
function workerFile(): string {
  const candidates = [
    path.join(__dirname, 'vega-worker.mjs'),
    path.join(__dirname, '..', '..', 'lib', 'viz', 'vega-worker.mjs'),
  ];
  const found = candidates.find((f) => fs.existsSync(f));
  if (!found) throw new Error(`charts: vega-worker.mjs not found (looked in ${candidates.join(', ')})`);
  return found;
}

function startWorker(): { worker: Worker; waiting: Map<number, Pending> } {
  const w = new Worker(workerFile());
  const waiting = new Map<number, Pending>();
  const self = { worker: w, waiting };
  w.on('message', ({ id, svg, error }: { id: number; svg?: string; error?: string }) => {
    const p = waiting.get(id);
    waiting.delete(id);
    if (error !== undefined || svg === undefined) p?.reject(new Error(`charts: vega: ${error}`));
    else p?.resolve(svg);
    if (!waiting.size) {
      w.unref();
      if (current === self) scheduleStop();
    }
  });
  const fail = (e: Error) => {
    if (current === self) current = undefined;
    for (const p of waiting.values()) p.reject(new Error(`charts: the vega worker stopped: ${e.message}`));
    waiting.clear();
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  return self;
}

function scheduleStop(): void {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    const idle = current;
    current = undefined;
    void idle?.worker.terminate();
  }, IDLE_MS);
  idleTimer.unref();
}

/** SVG of a Vega-Lite spec. */
export function vegaLiteSvg(spec: object): Promise<string> {
  clearTimeout(idleTimer);
  current ??= startWorker();
  const { worker, waiting } = current;
  // held while a chart is pending, let go when idle, so it never keeps a process open
  worker.ref();
  const id = nextId++;
  const result = new Promise<string>((resolve, reject) => waiting.set(id, { resolve, reject }));
  worker.postMessage({ id, spec });
  return result;
}

/** PNG of a Vega-Lite spec; `scale` 2 doubles the pixels (sharper in notebooks). */
export async function vegaLitePng(spec: object, scale = 1): Promise<Picture> {
  is.positive('charts', 'scale', scale);
  const svg = await vegaLiteSvg(spec);
  const { data, info } = await sharp(Buffer.from(svg), { density: 72 * scale })
    .flatten({ background: '#ffffff' })
    .png()
    .toBuffer({ resolveWithObject: true });
  return { png: data, width: info.width, height: info.height };
}
