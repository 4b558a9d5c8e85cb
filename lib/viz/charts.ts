// Line charts of training runs as Vega-Lite specs: a run's curves (train loss, kNN top-1, learning rate
// per epoch) side by side, several runs overlaid in colour; `unmix plot` and the trainer's curves.png.
import * as fs from 'fs';
import * as path from 'path';
import type { EpochRecord } from '../train/trainer';
import { Picture } from './grid';
import { vegaLitePng } from './render';

export interface Run {
  name: string;
  history: Pick<EpochRecord, 'epoch' | 'train_loss' | 'test_acc@1' | 'lr'>[];
}

export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

const PANEL = { width: 240, height: 170 };
const PANELS = [
  { key: 'train_loss', title: 'train loss' },
  { key: 'test_acc@1', title: 'kNN top-1 (%)' },
  { key: 'lr', title: 'learning rate' },
] as const;

/** The Vega-Lite spec of runs' curves: one panel per quantity, one colour per run. */
export function curvesSpec(runs: Run[], options: { title?: string } = {}): object {
  if (!Array.isArray(runs) || !runs.length)
    throw new Error(
      `curves: runs must be a non-empty list of {name, history}, got ${Array.isArray(runs) ? 'none' : typeof runs}`,
    );
  const rows = runs.flatMap((run) =>
    run.history.flatMap((r) =>
      PANELS.flatMap(({ key }) => {
        const value = r[key];
        // epoch 0 (before training) has no loss and no lr, only the baseline accuracy
        if (typeof value !== 'number' || !Number.isFinite(value) || (key !== 'test_acc@1' && r.epoch === 0)) return [];
        return [{ run: run.name, epoch: r.epoch, quantity: key, value }];
      }),
    ),
  );
  const color = { field: 'run', type: 'nominal', title: 'run', legend: runs.length > 1 ? { orient: 'bottom' } : null };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(options.title ? { title: options.title } : {}),
    data: { values: rows },
    background: 'white',
    hconcat: PANELS.map(({ key, title }) => ({
      ...PANEL,
      title,
      transform: [{ filter: { field: 'quantity', equal: key } }],
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color,
      },
    })),
  };
}

/** A simple line chart of named series (x, y). */
export function lineChartSpec(series: Series[], options: { title?: string; x?: string; y?: string } = {}): object {
  if (!Array.isArray(series) || !series.length)
    throw new Error('lineChart: series must be a non-empty list of {name, points}');
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(options.title ? { title: options.title } : {}),
    background: 'white',
    ...PANEL,
    data: {
      values: series.flatMap((s) =>
        s.points.filter((p) => Number.isFinite(p.y)).map((p) => ({ series: s.name, x: p.x, y: p.y })),
      ),
    },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.x ?? 'x' },
      y: { field: 'y', type: 'quantitative', title: options.y ?? 'y', scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, legend: series.length > 1 ? {} : null },
    },
  };
}

/** PNG of runs' curves. */
export function curvesChart(runs: Run[], options: { title?: string; scale?: number } = {}): Promise<Picture> {
  return vegaLitePng(curvesSpec(runs, options), options.scale);
}

/** PNG of a line chart. */
export function lineChart(
  series: Series[],
  options: { title?: string; x?: string; y?: string; scale?: number } = {},
): Promise<Picture> {
  return vegaLitePng(lineChartSpec(series, options), options.scale);
}

/** A run from its results folder's log.jsonl, named after the folder. */
export function readRun(dir: string, name = path.basename(path.resolve(dir))): Run {
  const file = fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory() ? path.join(dir, 'log.jsonl') : dir;
  if (!fs.existsSync(file)) throw new Error(`plot: ${dir} has no log.jsonl (give a results folder the trainer wrote)`);
  const lines = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim());
  const history = lines.map((line, i) => {
    try {
      return JSON.parse(line) as EpochRecord;
    } catch (e) {
      throw new Error(`plot: ${file} line ${i + 1} is not JSON: ${(e as Error).message}`);
    }
  });
  return { name, history };
}
