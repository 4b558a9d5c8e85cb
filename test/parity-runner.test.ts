// The learning-parity runner (bench/parity.ts): its statistics on synthetic input, checked against
// values computed independently (closed forms and published t tables), and the Python twins
// starting and logging unmix's log.jsonl columns for a one-step run.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { mean, std, studentTCdf, studentTQuantile, welchInterval } from '../bench/parity/stats';
import { methodFlags } from '../bench/parity';

test('mean and sample standard deviation', () => {
  expect(mean([1, 2, 3, 4])).toBe(2.5);
  // sum of squared deviations 5, n − 1 = 3
  expect(std([1, 2, 3, 4])).toBeCloseTo(Math.sqrt(5 / 3), 14);
  expect(std([7])).toBeNaN();
  expect(mean([])).toBeNaN();
});

test("Student's t: CDF and quantiles match the tables", () => {
  expect(studentTCdf(0, 3)).toBeCloseTo(0.5, 14);
  // df 1 is the Cauchy distribution: P(T <= 1) = 3/4
  expect(studentTCdf(1, 1)).toBeCloseTo(0.75, 12);
  // two-sided 95% critical values (any t table)
  for (const [df, t] of [
    [1, 12.7062],
    [2, 4.3027],
    [4, 2.7764],
    [10, 2.2281],
    [30, 2.0423],
    [1e6, 1.96],
  ] as const) {
    expect(studentTQuantile(0.975, df)).toBeCloseTo(t, 3);
  }
});

test('Welch interval on a synthetic input, by hand', () => {
  const a = [31.2, 30.1, 32.0, 30.9, 31.3];
  const b = [29.8, 30.9, 30.2, 29.5, 30.6];
  const w = welchInterval(a, b);
  const va = std(a) ** 2 / 5;
  const vb = std(b) ** 2 / 5;
  const df = (va + vb) ** 2 / (va ** 2 / 4 + vb ** 2 / 4);
  expect(w.diff).toBeCloseTo(mean(a) - mean(b), 12);
  expect(w.se).toBeCloseTo(Math.sqrt(va + vb), 12);
  expect(w.df).toBeCloseTo(df, 10);
  // df here is about 7.6: t(0.975) lies between the table's 2.3646 (7) and 2.3060 (8)
  const t = (w.high - w.diff) / w.se;
  expect(t).toBeGreaterThan(2.306);
  expect(t).toBeLessThan(2.3646);
  expect(w.high - w.diff).toBeCloseTo(w.diff - w.low, 12);
  // equal sizes and variances: df = 2(n − 1)
  const e = welchInterval([1, 2, 3], [2, 3, 4]);
  expect(e.df).toBeCloseTo(4, 12);
  expect(e.diff).toBe(-1);
  expect(e.high - e.diff).toBeCloseTo(2.7764451 * Math.sqrt(2 / 3), 5);
  // one value per side: no interval
  expect(welchInterval([1], [2]).low).toBeNaN();
});

test("both sides get the same method flags; the lr is the budget's", () => {
  const b = { data: 'x', width: 8, subset: 200, testSubset: 100, epochs: 10, batch: 128, threads: 1, mocoLr: 0.015 };
  const f = methodFlags('moco-unmix', b, 2);
  expect(f.join(' ')).toContain('--batch-size 128 --lr 0.015 --moco-k 1024');
  expect(methodFlags('moco', b, 0)).toContain('--no-unmix');
  expect(methodFlags('swav', b, 0)).toContain('--run_swav');
  expect(methodFlags('swav-unmix', b, 0).join(' ')).toContain('--freeze_prototypes_niters 15');
});

// The twins on a tiny subset of the real CIFAR-10 JPEGs (skipped when absent), one step each.
const data = path.join(__dirname, '..', '..', 'shared', 'data', 'cifar10-jpeg.tar.gz');
const python = process.env.UNMIX_PARITY_PYTHON ?? '/usr/bin/python3';
const haveTwin = fs.existsSync(data) && fs.existsSync(python);
(haveTwin ? test : test.skip)(
  `the Python twins start and log unmix's log.jsonl columns${haveTwin ? '' : ' (skipped: no ../shared/data/cifar10-jpeg.tar.gz or /usr/bin/python3)'}`,
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-parity-'));
    const indices = path.join(dir, 'indices.json');
    // 8 training images per class: the first 8 of each class folder (5,000 train / 1,000 test per class)
    const pick = (per: number, n: number) =>
      Array.from({ length: 10 * n }, (_, i) => Math.floor(i / n) * per + (i % n));
    fs.writeFileSync(indices, JSON.stringify({ train: pick(5000, 8), test: pick(1000, 2) }));
    const common = [
      '--data',
      data,
      '--indices',
      indices,
      '--width',
      '4',
      '--epochs',
      '1',
      '--eval-init',
      '--iters-per-epoch',
      '1',
      '--threads',
      '1',
      '--knn-k',
      '5',
    ];
    const columns = ['epoch', 'train_loss', 'test_acc@1', 'lr', 'seconds', 'images_per_s', 'terms'];
    for (const [twin, flags, terms] of [
      [
        'moco_c10.py',
        ['--batch-size', '16', '--moco-k', '64', '--bn-splits', '2'],
        ['loss', 'loss_12', 'loss_21', 'loss_m11', 'loss_m12', 'loss_m21', 'loss_m22', 'lam'],
      ],
      [
        'swav_c10.py',
        ['--batch_size', '16', '--nmb_prototypes', '10', '--hidden_mlp', '32'],
        ['loss', 'loss_ori', 'loss_unmix', 'loss_unmix_flip', 'lam', 'queue_used'],
      ],
    ] as const) {
      const out = path.join(dir, twin);
      execFileSync(
        python,
        [path.join(__dirname, '..', 'bench', 'parity', twin), ...common, ...flags, '--results-dir', out],
        { stdio: 'pipe', timeout: 60000 },
      );
      const records = fs
        .readFileSync(path.join(out, 'log.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(records.map((r) => r.epoch)).toEqual([0, 1]);
      for (const r of records) expect(Object.keys(r).sort()).toEqual([...columns].sort());
      expect(Object.keys(records[1].terms).sort()).toEqual([...terms].sort());
      expect(records[1].train_loss).toBeGreaterThan(0);
      expect(fs.readFileSync(path.join(out, 'log.csv'), 'utf8').split('\n')[0]).toBe('epoch,train_loss,test_acc@1');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  },
);

/** bench/parity.ts at a tiny budget (width 4, 20 images per class, 2 epochs, one seed), with `args`. */
function runTiny(args: string[]): void {
  execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(__dirname, '..', 'bench', 'parity.ts'),
      ...['--seeds', '1', '--width', '4', '--subset', '20', '--test-subset', '2', '--epochs', '2', '--batch', '32'],
      ...args,
    ],
    { stdio: 'pipe', timeout: 240000, cwd: path.join(__dirname, '..') },
  );
}

// The exchanges end to end: the runner starts both sides from the twin's initial weights and feeds them the
// same recorded batches (the twin's for 'batches', the example's for 'ts-batches'); plain SwAV then has
// nothing random left, so both sides take the same steps: their losses agree to float32 rounding.
(haveTwin ? test : test.skip)(
  `exchanged weights and batches: the SwAV example and its twin train alike${haveTwin ? '' : ' (skipped: no ../shared/data/cifar10-jpeg.tar.gz or /usr/bin/python3)'}`,
  () => {
    for (const exchange of ['batches', 'ts-batches']) {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-exchange-'));
      runTiny(['--methods', 'swav', '--exchange', exchange, '--out', out]);
      const run = (side: string) => JSON.parse(fs.readFileSync(path.join(out, `swav-${side}-seed0.json`), 'utf8'));
      const [ts, py] = [run('ts'), run('py')];
      expect(ts.command).toContain(exchange === 'batches' ? '--replay-batches' : '--record-batches');
      expect(py.command).toContain(exchange === 'batches' ? '--save-batches' : '--replay-batches');
      expect(ts.epochs.map((e: any) => e.epoch)).toEqual([0, 1, 2]);
      // the same weights: the same kNN before training
      expect(ts.epochs[0]['test_acc@1']).toBe(py.epochs[0]['test_acc@1']);
      // float32 rounding grows from step to step (BatchNorm on 32 images, the Sinkhorn's exp(score / 0.05)), faster
      // when the example's LibTorch is not the twin's (CI's pip 2.14.1 leg against Debian's 1.13). Measured at
      // epoch 2 (12 steps on): 2e-4 on one LibTorch, 1.1e-3 across the two; replaying epoch 0's batches again in
      // epoch 2 instead of epoch 1's would give 3.7e-3.
      const rel = (e: number) => Math.abs(ts.epochs[e].train_loss / py.epochs[e].train_loss - 1);
      expect(rel(1)).toBeLessThan(5e-5);
      expect(rel(2)).toBeLessThan(2.5e-3);
      fs.rmSync(out, { recursive: true, force: true });
      fs.rmSync(`${out}.json`, { force: true });
    }
  },
  600000,
);

// MoCo + Un-Mix and SwAV + Un-Mix with everything random exchanged: the twin's weights, batches and
// per-step draws (the Un-Mix mixtures; MoCo's shuffle-BN permutations). In float64 both sides then compute
// the same run: the losses agree to float64 rounding over both epochs and the kNN monitors give the same
// accuracy. (In float32 MoCo's drift apart by 2e-3 within 6 steps, as far as each side is from the float64
// run: its gradients at initialisation cancel almost entirely, the keys all pointing one way.)
for (const method of ['moco-unmix', 'swav-unmix']) {
  (haveTwin ? test : test.skip)(
    `exchanged weights, batches and draws: ${method} trains alike in float64${haveTwin ? '' : ' (skipped: no ../shared/data/cifar10-jpeg.tar.gz or /usr/bin/python3)'}`,
    () => {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-exchange-'));
      runTiny(['--methods', method, '--exchange', 'draws', '--float64', '--out', out]);
      const run = (side: string) => JSON.parse(fs.readFileSync(path.join(out, `${method}-${side}-seed0.json`), 'utf8'));
      const [ts, py] = [run('ts'), run('py')];
      expect(ts.command).toEqual(expect.arrayContaining(['--replay-draws', '--replay-batches', '--dtype', 'float64']));
      expect(py.command).toEqual(expect.arrayContaining(['--save-draws', '--save-batches', '--double']));
      expect(ts.epochs.map((e: any) => e.epoch)).toEqual([0, 1, 2]);
      for (const e of [0, 1, 2]) expect(ts.epochs[e]['test_acc@1']).toBe(py.epochs[e]['test_acc@1']);
      // measured on one LibTorch: MoCo 0 and 6e-16, SwAV 0 and 1e-16 at epochs 1 and 2
      for (const e of [1, 2])
        expect(Math.abs(ts.epochs[e].train_loss / py.epochs[e].train_loss - 1)).toBeLessThan(1e-10);
      expect(ts.epochs[2].terms.lam).toBe(py.epochs[2].terms.lam); // the same draws
      fs.rmSync(out, { recursive: true, force: true });
      fs.rmSync(`${out}.json`, { force: true });
    },
    300000,
  );
}
