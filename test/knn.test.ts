// The weighted kNN monitor (lib/eval/knn.ts) against a closed-form case and the MoCo demo's
// knn_predict run by PyTorch (test/fixtures/make_moco_fixtures.py knn): the same class scores
// (rtol 1e-12, float64) and the same rankings; chunked accuracy equals the one-shot computation.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
import { FeatureBank, LabelledBatch, buildFeatureBank, knnAccuracy, knnPredict, knnScores } from '../lib/eval/knn';
import { device, values, settle } from './helpers';
import { python, pythonHas } from './support/python';

const hasTorch = pythonHas('torch, torchvision');
const describeWithTorch = hasTorch ? describe : describe.skip;

const f64 = (rows: number[][]) => u.tensor(rows, { dtype: 'float64', device });
const labelsOf = (v: number[]) => u.tensor(Int32Array.from(v), { dtype: 'int64', device });

describe('knnPredict', () => {
  // Bank: (1, 0) class 0, (0, 1) class 1, (cos 30°, sin 30°) class 1, (−1, 0) class 2.
  const c30 = Math.cos(Math.PI / 6);
  const bank = () =>
    f64([
      [1, 0, c30, -1],
      [0, 1, 0.5, 0],
    ]);
  const bankLabels = () => labelsOf([0, 1, 1, 2]);

  test('closed form: the top-k neighbours vote with weights exp(cos / t)', () => {
    const q2 = [Math.cos((100 * Math.PI) / 180), Math.sin((100 * Math.PI) / 180)];
    const queries = f64([[1, 0], q2]);
    const scores = values(knnScores(queries, bank(), bankLabels(), 3, 3, 0.1));
    // query 1: neighbours (1, 0) cos 1, the 30° one cos 0.866, (0, 1) cos 0
    const s1 = [Math.exp(10), Math.exp(c30 / 0.1) + Math.exp(0), 0];
    // query 2 at 100°: (0, 1), the 30° one, (−1, 0)
    const cos30 = c30 * q2[0] + 0.5 * q2[1];
    const s2 = [0, Math.exp(q2[1] / 0.1) + Math.exp(cos30 / 0.1), Math.exp(-q2[0] / 0.1)];
    [...s1, ...s2].forEach((v, i) => expect(scores[i]).toBeCloseTo(v, 9));
    expect(knnPredict(queries, bank(), bankLabels(), 3, 3, 0.1).toArray()).toEqual([
      [0, 1, 2],
      [1, 2, 0],
    ]);
    // k = 1: the nearest neighbour's label alone
    expect(values(knnPredict(queries, bank(), bankLabels(), 3, 1, 0.1).select(1, 0))).toEqual([0, 1]);
  });

  test('bad shapes, k, labels and t are clear errors', () => {
    const q = f64([[1, 0]]);
    expect(() => knnPredict(q, bank(), bankLabels(), 3, 5)).toThrow(/k must be an integer in \[1, 4\]/);
    expect(() => knnPredict(f64([[1, 0, 0]]), bank(), bankLabels(), 3, 2)).toThrow(
      /expected features \[B, D\] and a bank \[D, N\]/,
    );
    expect(() => knnPredict(q, bank(), labelsOf([0, 1, 1]), 3, 2)).toThrow(/expected 4 bank labels/);
    expect(() => knnPredict(q, bank(), bankLabels(), 2, 2)).toThrow(/bank labels must be in \[0, 2\), got \[0, 2\]/);
    expect(() => knnPredict(q, bank(), bankLabels(), 3, 2, 0)).toThrow(/t must be > 0/);
  });
});

/** `count` random labelled images in batches of `size`, features clustered around one centre per class. */
function dataset(count: number, size: number, classes: number, seed: number, spread = 0.8): LabelledBatch[] {
  u.manualSeed(classes);
  const centres = u.randn([classes, 8], { device }); // the same for every split of one task
  u.manualSeed(seed);
  const out: LabelledBatch[] = [];
  for (let start = 0; start < count; start += size) {
    const n = Math.min(size, count - start);
    const labels = u.randint(0, classes, [n], { device });
    out.push({
      images: centres
        .indexSelect(0, labels)
        .add(u.randn([n, 8], { device }).mul(spread))
        .view(n, 2, 2, 2),
      labels,
    });
  }
  return out;
}

describe('feature bank and accuracy', () => {
  const embed = (images: u.Tensor) => images.flatten(1).mul(3); // not normalized: the bank does it

  test('buildFeatureBank: [D, N] L2-normalized columns and the labels, embedding under noGrad, from sync or async batches', async () => {
    const batches = dataset(10, 4, 3, 1);
    const grads: boolean[] = [];
    const bank = await buildFeatureBank(batches, (x) => (grads.push(u.isGradEnabled()), embed(x)));
    expect(grads).toEqual([false, false, false]);
    expect(bank.features.shape).toEqual([8, 10]);
    const all = u.cat(batches.map((b) => b.images.flatten(1)));
    expect(maxDiff(bank.features, u.normalize(all, { dim: 1 }).t())).toBeLessThan(1e-6);
    expect(values(bank.labels)).toEqual(batches.flatMap((b) => values(b.labels)));
    async function* generate() {
      for (const b of batches) yield b;
    }
    const again = await buildFeatureBank(generate(), embed);
    expect(again.features.equal(bank.features)).toBe(true);
    await expect(buildFeatureBank([], embed)).rejects.toThrow(/no batches/);
    await expect(buildFeatureBank(batches, (x) => x)).rejects.toThrow(/embed must return features \[B, D\]/);
  });

  test('knnAccuracy in chunks equals knnPredict on all queries at once (top-1 and top-5)', async () => {
    const classes = 10;
    const bank = await buildFeatureBank(dataset(600, 128, classes, 2, 1.5), embed);
    const test = dataset(150, 64, classes, 3, 1.5);
    const features = u.normalize(u.cat(test.map((b) => embed(b.images))), { dim: 1 });
    const labels = u.cat(test.map((b) => b.labels));
    const ranking = knnPredict(features, bank.features, bank.labels, classes, 50, 0.1);
    const hits = ranking.narrow(1, 0, 5).eq(labels.unsqueeze(1));
    const acc1 = (100 * hits.select(1, 0).sum().item()) / 150;
    const acc5 = (100 * hits.sum().item()) / 150;
    expect(acc1).toBeGreaterThan(20); // clusters overlap: neither trivial nor hopeless
    expect(acc1).toBeLessThan(100);
    for (const chunkSize of [7, 64, 256]) {
      const r = await knnAccuracy(test, embed, bank, { classes, k: 50, t: 0.1, chunkSize });
      expect(r.total).toBe(150);
      expect(r.acc1).toBeCloseTo(acc1, 10);
      expect(r.acc5).toBeCloseTo(acc5, 10);
    }
    const separated = await buildFeatureBank(dataset(200, 100, 4, 4, 0.01), embed);
    expect((await knnAccuracy(dataset(40, 40, 4, 4, 0.01), embed, separated, { classes: 4, k: 20 })).acc1).toBe(100);
    await expect(knnAccuracy(test, embed, bank, { classes, chunkSize: 0 })).rejects.toThrow(
      /chunkSize must be a positive integer/,
    );
  });

  test('memory stays bounded by the chunk: no [queries, bank] matrix, nothing left behind', async () => {
    const bank: FeatureBank = await buildFeatureBank(dataset(20000, 5000, 10, 5), embed);
    const test = dataset(512, 512, 10, 6);
    await knnAccuracy(test, embed, bank, { classes: 10, k: 20, chunkSize: 32 }); // warm up
    await settle();
    const before = u.liveTensors();
    u.resetPeakMemory();
    await knnAccuracy(test, embed, bank, { classes: 10, k: 20, chunkSize: 32 });
    await settle();
    const after = u.liveTensors();
    expect(after.count).toBe(before.count);
    const dev = device.startsWith('cuda') ? Object.keys(after.devices).find((d) => d.startsWith('cuda'))! : 'cpu';
    const grew = after.devices[dev].peakBytes - before.devices[dev].bytes;
    expect(grew).toBeLessThan(512 * 20000 * 4); // the full similarity matrix would be 41 MB
    expect(grew).toBeLessThan(8e6);
  });
});

function maxDiff(a: u.Tensor, b: u.Tensor): number {
  return a.sub(b).abs().max().item();
}

describeWithTorch(`parity with the demo's knn_predict${hasTorch ? '' : ` (skipped: ${python} has no torch)`}`, () => {
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-knn-'));
    execFileSync(python, [path.join(__dirname, 'fixtures', 'make_moco_fixtures.py'), dir, 'knn'], { stdio: 'pipe' });
  }, 120000);
  afterAll(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  test.each([20, 200])('k = %i: scores and rankings', (k) => {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'knn.json'), 'utf8'));
    const t = u.loadTorchFile(path.join(dir, 'knn.pt'), { device }).tensors;
    const scores = knnScores(t.features, t.bank, t.labels, meta.classes, k, meta.t);
    const expected = t[`scores_${k}`];
    expect(scores.shape).toEqual(expected.shape);
    expect(scores.sub(expected).abs().sub(expected.abs().mul(1e-12)).max().item()).toBeLessThanOrEqual(0);
    const pred = knnPredict(t.features, t.bank, t.labels, meta.classes, k, meta.t);
    expect(pred.toArray()).toEqual(t[`pred_${k}`].toArray());
    // The clusters make the monitor meaningful: most queries get their own class.
    expect(pred.select(1, 0).eq(t.query_labels).double().mean().item()).toBeGreaterThan(0.5);
  });
});
