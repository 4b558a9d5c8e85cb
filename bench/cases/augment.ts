// The two-view CIFAR pipeline of the MoCo demo (spec §2.3) on whole batches (lib/data: batched, on the
// device), next to the reference's per-image PIL pipeline in DataLoader workers (bench/augment.py) on
// the same images and batch size. Figures are milliseconds per batch of two views (batch ÷ images/s).
// Each repeat starts a fresh epoch: its first batch is untimed (Python starts its workers there; both
// sides then hold about one batch made ahead), the next `batches` are timed.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../../lib';
import { TensorImageSet } from '../../lib/data/dataset';
import { Loader } from '../../lib/data/loader';
import { mocoCifar } from '../../lib/data/presets';
import { BenchCase, CaseResult, CommonOptions, Runs, intArg, alternate, summarize, sync, withTwin } from './harness';

export interface AugmentOptions {
  batch: number;
  /** timed batches per repeat */
  batches: number;
  /** DataLoader workers of the Python side */
  workers: number;
}

/** Milliseconds per batch of an epoch's batches after its first (the epoch holds exactly batches + 1). */
async function timeEpoch(loader: Loader, epoch: number, batches: number, device: u.Device): Promise<{ ms: number }> {
  const it = loader.epoch(epoch);
  (await it.next()).value.dispose(); // untimed
  sync(device);
  const start = process.hrtime.bigint();
  let seen = 0;
  for (let b = 0; b < batches; b++) {
    const r = await it.next();
    if (r.done) throw new Error(`augment: the epoch ended after ${b + 1} batches`);
    seen += r.value.views[0].shape[0];
    r.value.dispose();
  }
  sync(device);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (seen !== loader.batchSize * batches)
    throw new Error(`augment: got ${seen} images, expected ${loader.batchSize * batches}`);
  return { ms: ms / batches };
}

export const augment: BenchCase<AugmentOptions> = {
  name: 'augment',
  summary: 'two-view CIFAR augmentation: batched unmix pipeline vs torchvision PIL in DataLoader workers',
  options: (cmd) =>
    cmd
      .option('--batch <n>', 'images per batch', intArg(1))
      .option('--batches <n>', 'timed batches per repeat', intArg(1))
      .option('--workers <n>', 'DataLoader workers of the Python side', intArg(0)),
  defaults: (quick) =>
    quick
      ? { batch: 32, batches: 2, workers: 1, warmup: 1, repeats: 2 }
      : { batch: 512, batches: 8, workers: os.cpus().length, warmup: 1, repeats: 5 },
  async run(common: CommonOptions, o: AugmentOptions & Runs): Promise<CaseResult> {
    const { device } = common;
    const n = o.batch * (o.batches + 1);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-bench-augment-'));
    const file = path.join(dir, 'images.u8');
    try {
      return await u.scope(async () => {
        u.manualSeed(0);
        const images = u.rand([n, 3, 32, 32]).mul(256).floor().clamp(0, 255).to('uint8');
        fs.writeFileSync(file, images.data() as Uint8Array);
        const set: TensorImageSet = {
          kind: 'tensor',
          format: 'synthetic',
          split: 'train',
          images: images.to(device),
          labels: u.zeros([n], { dtype: 'int64', device }),
          classes: ['x'],
        };
        const loader = new Loader(set, { batchSize: o.batch, views: mocoCifar(), seed: 0 });
        const config = {
          device,
          threads: common.threads,
          file,
          n,
          batch: o.batch,
          batches: o.batches,
          workers: o.workers,
        };
        return withTwin('augment.py', config, async (twin) => {
          let epoch = 0;
          const samples = await alternate(twin, () => timeEpoch(loader, epoch++, o.batches, device), o);
          const result = summarize(
            'augment',
            `one batch of ${o.batch} images, two views`,
            common,
            o,
            samples,
            twin,
            config,
          );
          return {
            ...result,
            ts_images_per_s: (o.batch / result.ts_ms) * 1e3,
            py_images_per_s: (o.batch / result.py_ms) * 1e3,
          };
        });
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
