// The augmented views of both sides on a parity subset: unmix's Loader with presets.mocoCifar() against the
// reference's PIL pipeline (bench/parity/augment_stats.py), the same statistics, batches of 500, 2 epochs.
//   npx tsx bench/parity/augment-stats.ts [INDICES_JSON]   (default: the parity runner's seed-0 indices)
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { openDataset } from '../../lib/data/open';
import { subsetImageSet } from '../../lib/data/subset';
import { Loader } from '../../lib/data/loader';
import { mocoCifar } from '../../lib/data/presets';

const root = path.resolve(__dirname, '..', '..');
const data = path.resolve(root, '..', 'shared', 'data', 'cifar10-jpeg.tar.gz');
const indices = process.argv[2] ?? path.join(root, 'bench/results/learning-parity/runs/indices-8-150-100-seed0.json');

(async () => {
  const set = await openDataset(data, { split: 'train' });
  if (set.kind !== 'tensor') throw new Error('expected a tensor set');
  const perClass = (JSON.parse(fs.readFileSync(indices, 'utf8')).train as number[]).length / 10;
  const sub = subsetImageSet(set, { perClass, seed: 0 });
  const loader = new Loader(sub, { batchSize: 500, views: mocoCifar(), seed: 0 });
  const stats: number[][] = [];
  for (const epoch of [0, 1]) {
    for await (const b of loader.epoch(epoch)) {
      const [a, c] = b.views;
      stats.push([
        ...(a.mean([0, 2, 3]).data() as Float32Array),
        ...(a.std([0, 2, 3]).data() as Float32Array),
        a.sub(c).abs().mean().item() as number,
        a.std([2, 3]).mean().item() as number,
        a.std([1]).mean().item() as number,
      ]);
    }
  }
  const avg = stats[0].map((_, i) => stats.reduce((x, r) => x + r[i], 0) / stats.length);
  console.log(
    JSON.stringify({
      side: 'unmix',
      batches: stats.length,
      mean: avg.slice(0, 3),
      std: avg.slice(3, 6),
      viewDiff: avg[6],
      contrast: avg[7],
      saturation: avg[8],
    }),
  );
  console.log(
    execFileSync(
      process.env.UNMIX_PARITY_PYTHON ?? '/usr/bin/python3',
      [path.join(__dirname, 'augment_stats.py'), indices, data],
      { encoding: 'utf8' },
    ).trim(),
  );
})();
