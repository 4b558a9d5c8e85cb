// The kNN monitor of the MoCo CIFAR demo (spec §2.5) without the network: a bank of N given features
// (normalized, stacked to [D, N]), then weighted top-k prediction and top-1 accuracy for Q query
// features, in batches as the monitor's loaders give them. Both sides read the same features from one
// file, so their accuracies must agree; the Python twin (bench/knn.py) is the reference's test().
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../../lib';
import { buildFeatureBank, knnAccuracy, LabelledBatch } from '../../lib/eval/knn';
import { BenchCase, CaseResult, CommonOptions, Runs, intArg, alternate, summarize, timeMs, withTwin } from './harness';

export interface KnnBenchOptions {
  /** bank size N */
  bank: number;
  /** query features Q */
  queries: number;
  /** feature dimension D */
  dim: number;
  classes: number;
  k: number;
  /** features per batch (the monitor's loader batch) */
  batch: number;
}

function batches(features: u.Tensor, labels: u.Tensor, size: number): LabelledBatch[] {
  const out: LabelledBatch[] = [];
  for (let s = 0; s < features.shape[0]; s += size) {
    const n = Math.min(size, features.shape[0] - s);
    out.push({ images: features.narrow(0, s, n), labels: labels.narrow(0, s, n) });
  }
  return out;
}

/** Random features and labels, written to `dir` for the twin and returned on the device. */
function writeFeatures(dir: string, o: KnnBenchOptions, device: u.Device) {
  u.manualSeed(0);
  const data = {
    bank: u.randn([o.bank, o.dim]),
    bankLabels: u.randint(0, o.classes, [o.bank], { dtype: 'int64' }),
    queries: u.randn([o.queries, o.dim]),
    queryLabels: u.randint(0, o.classes, [o.queries], { dtype: 'int64' }),
  };
  for (const [name, t] of Object.entries(data))
    fs.writeFileSync(path.join(dir, `${name}.bin`), t.data() as Float32Array | BigInt64Array);
  return Object.fromEntries(Object.entries(data).map(([k, t]) => [k, t.to(device)])) as typeof data;
}

export const knn: BenchCase<KnnBenchOptions> = {
  name: 'knn',
  summary: 'the kNN monitor (k 200, t 0.1) over a bank of N features: bank building + Q queries',
  options: (cmd) =>
    cmd
      .option('--bank <n>', 'bank size N', intArg(1))
      .option('--queries <n>', 'query features', intArg(1))
      .option('--dim <n>', 'feature dimension', intArg(1))
      .option('--classes <n>', 'classes', intArg(1))
      .option('--k <n>', 'neighbours', intArg(1))
      .option('--batch <n>', 'features per batch', intArg(1)),
  defaults: (quick, device) =>
    quick
      ? { bank: 1000, queries: 100, dim: 32, classes: 10, k: 20, batch: 64, warmup: 1, repeats: 2 }
      : device === 'cpu'
        ? { bank: 10000, queries: 1000, dim: 128, classes: 10, k: 200, batch: 512, warmup: 1, repeats: 5 }
        : { bank: 50000, queries: 10000, dim: 128, classes: 10, k: 200, batch: 512, warmup: 2, repeats: 7 },
  async run(common: CommonOptions, o: KnnBenchOptions & Runs): Promise<CaseResult> {
    const { device } = common;
    if (!(o.k >= 1 && o.k <= o.bank)) throw new Error(`knn: --k ${o.k} must be in [1, ${o.bank}] (the bank size)`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-bench-knn-'));
    try {
      return await u.scope(async () => {
        const data = writeFeatures(dir, o, device);
        const config = {
          device,
          threads: common.threads,
          dir,
          bank: o.bank,
          queries: o.queries,
          dim: o.dim,
          classes: o.classes,
          k: o.k,
          t: 0.1,
          batch: o.batch,
        };
        return withTwin('knn.py', config, async (twin) => {
          const memory = batches(data.bank, data.bankLabels, o.batch);
          const test = batches(data.queries, data.queryLabels, o.batch);
          const identity = (x: u.Tensor) => x;
          let acc1 = NaN;
          const pass = () =>
            u.scope(async () => {
              const bank = await buildFeatureBank(memory, identity);
              acc1 = (
                await knnAccuracy(test, identity, bank, { classes: o.classes, k: o.k, t: 0.1, chunkSize: o.batch })
              ).acc1;
            });
          const samples = await alternate(twin, async () => ({ ms: await timeMs(device, pass), acc1 }), o);
          const pyAcc1 = samples.py[samples.py.length - 1].acc1;
          if (Math.abs(pyAcc1 - acc1) > 1e-6)
            process.stderr.write(`knn: warning: the top-1 accuracies differ: unmix ${acc1}%, Python ${pyAcc1}%\n`);
          return {
            ...summarize('knn', `bank of ${o.bank} + ${o.queries} queries`, common, o, samples, twin, config),
            acc1_ts: acc1,
            acc1_py: pyAcc1,
          };
        });
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
