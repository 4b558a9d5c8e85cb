// The two-view CIFAR pipeline (MoCo demo, spec §2.3) on whole batches, next to the reference's PIL
// pipeline in DataLoader workers (bench/augment.py) on the same images and batch size.
//   npx tsx bench/augment.ts [--batch 512] [--batches 10] [--workers 2] [--device cpu]
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
import { Loader } from '../lib/data/loader';
import { mocoCifar } from '../lib/data/presets';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main() {
  const batch = Number(arg('batch', '512'));
  const batches = Number(arg('batches', '10'));
  const workers = Number(arg('workers', String(os.cpus().length)));
  const device = arg('device', 'cpu') as u.Device;
  const n = batch * (batches + 1);
  u.manualSeed(0);
  const images = u.rand([n, 3, 32, 32]).mul(256).floor().clamp(0, 255).to('uint8');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-bench-')), 'images.u8');
  fs.writeFileSync(file, images.data() as Uint8Array);

  const set = { kind: 'tensor' as const, format: 'synthetic' as const, split: 'train', images: images.to(device), labels: u.zeros([n], { dtype: 'int64', device }), classes: ['x'] };
  const loader = new Loader(set, { batchSize: batch, views: mocoCifar(), seed: 0 });
  const it = loader.epoch(0);
  (await it.next()).value.dispose(); // warm-up
  const start = performance.now();
  let seen = 0;
  for (let b = 0; b < batches; b++) {
    const r = await it.next();
    if (r.done) break;
    if (device !== 'cpu') u.cuda.synchronize();
    seen += r.value.views[0].shape[0];
    r.value.dispose();
  }
  const tsRate = seen / ((performance.now() - start) / 1000);
  const py = JSON.parse(execFileSync('/usr/bin/python3', [path.join(__dirname, 'augment.py'), file, String(n), String(batch), String(workers), String(batches)]).toString());
  fs.rmSync(path.dirname(file), { recursive: true });
  const result = { case: 'augment', batch, device, workers, ts_images_per_s: tsRate, py_images_per_s: py.images_per_s, ts_ms: (batch / tsRate) * 1000, py_ms: (batch / py.images_per_s) * 1000, speedup: tsRate / py.images_per_s };
  if (process.argv.includes('--json')) console.log(JSON.stringify(result));
  else console.log(`two-view CIFAR pipeline, batch ${batch}, ${device}: unmix ${tsRate.toFixed(0)} images/s, torchvision PIL (${workers} workers) ${py.images_per_s.toFixed(0)} images/s, speedup ${result.speedup.toFixed(2)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
