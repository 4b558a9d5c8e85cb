// `unmix plot RUN_DIR... [-o FILE]`: runs' curves (loss, kNN top-1, lr) from their log.jsonl, overlaid.
import * as fs from 'fs';
import { curvesChart, readRun } from '../viz/charts';

export async function plotCommand(
  dirs: string[],
  options: { output: string; title?: string; scale: string },
): Promise<void> {
  const scale = Number(options.scale);
  if (!(scale > 0)) throw new Error(`plot: --scale must be a number > 0, got ${options.scale}`);
  const runs = dirs.map((d) => readRun(d));
  const names = runs.map((r) => r.name);
  // two runs from folders of the same name (a/run, b/run) are told apart by their paths
  if (new Set(names).size < names.length) runs.forEach((r, i) => (r.name = dirs[i]));
  const picture = await curvesChart(runs, { title: options.title, scale });
  fs.writeFileSync(options.output, picture.png);
  console.log(
    `${options.output}: ${runs.length} run${runs.length > 1 ? 's' : ''} (${runs.map((r) => r.name).join(', ')}), ${picture.width}×${picture.height}`,
  );
}
