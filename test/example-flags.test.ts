// The examples check every flag before any work: flags alone before the data is opened (a missing
// --data is not even looked at), flags against the data before the first step (no epoch is trained
// and then lost); and a folder that is not CIFAR (other sizes, its own statistics) trains and evaluates.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { device } from './helpers';

const root = path.join(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-example-flags-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** stdout on success; on failure an Error whose message holds stdout and stderr. */
function example(name: string, args: string[]): string {
  try {
    return execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'examples', name), ...args], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, UNMIX_CACHE_DIR: path.join(tmp, 'cache') },
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; status?: number };
    throw new Error(`exit ${err.status}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
}
const results = () => fs.mkdtempSync(path.join(tmp, 'run-'));

/** train/ and test/ of two classes of `size`×`size` PNGs (two shades per class plus noise). */
let folder: string;
const sums = [0, 0, 0];
let pixels = 0;
beforeAll(async () => {
  folder = path.join(tmp, 'folder');
  for (const [split, count] of [
    ['train', 10],
    ['test', 4],
  ] as const) {
    for (const [c, cls] of ['dark', 'light'].entries()) {
      fs.mkdirSync(path.join(folder, split, cls), { recursive: true });
      for (let i = 0; i < count; i++) {
        const size = 40 + (i % 3) * 4; // 40, 44, 48: mixed sizes, decoded per batch
        const px = Buffer.alloc(size * size * 3, 0);
        for (let p = 0; p < px.length; p++) px[p] = Math.min(255, 40 + 150 * c + ((p * 37 + i * 11) % 50));
        if (split === 'train') {
          for (let p = 0; p < px.length; p++) sums[p % 3] += px[p] / 255;
          pixels += size * size;
        }
        await sharp(px, { raw: { width: size, height: size, channels: 3 } })
          .png()
          .toFile(path.join(folder, split, cls, `${i}.png`));
      }
    }
  }
});

test('flags alone are checked before the data is opened: a bad --moco-k with a --data that does not exist names --moco-k', () => {
  expect(() =>
    example('unmix_c10.ts', [
      '--moco-k',
      '100',
      '--batch-size',
      '16',
      '--bn-splits',
      '2',
      '--data',
      '/nonexistent/data',
      '--results-dir',
      results(),
      '--device',
      device,
    ]),
  ).toThrow(
    /error: --moco-k 100 must be a multiple of the keys queued per step \(32 = --batch-size 16 × 2 views, symmetric\); e\.g\. --moco-k 96/,
  );
  expect(() =>
    example('unmix_c10.ts', [
      '--batch-size',
      '12',
      '--bn-splits',
      '8',
      '--moco-k',
      '96',
      '--data',
      '/nonexistent/data',
      '--results-dir',
      results(),
      '--device',
      device,
    ]),
  ).toThrow(/error: --batch-size 12 must be a multiple of --bn-splits 8/);
  expect(() =>
    example('unmix_byol_c10.ts', [
      '--warmup-epochs',
      '10',
      '--epochs',
      '2',
      '--data',
      '/nonexistent/data',
      '--results-dir',
      results(),
      '--device',
      device,
    ]),
  ).toThrow(/error: --warmup-epochs 10 must be less than --epochs 2/);
  expect(() => example('unmix_simclr_c10.ts', ['--std', '0.2,0,0.2', '--results-dir', results()])).toThrow(
    /--std must be three numbers r,g,b \(each > 0\) or 'data', got '0\.2,0,0\.2'/,
  );
  expect(() =>
    example('unmix_simclr_c10.ts', [
      '--temperature',
      '0',
      '--epochs',
      '2',
      '--warmup-epochs',
      '0',
      '--data',
      '/nonexistent/data',
      '--results-dir',
      results(),
      '--device',
      device,
    ]),
  ).toThrow(/error: SimCLR: temperature must be > 0, got 0/);
});

test('flags against the data are checked before the first step: --knn-k above the bank, a batch above the images; nothing trained, no checkpoint', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'unmix_c10.ts',
      ['--knn-k', '200', '--batch-size', '8', '--bn-splits', '2', '--moco-k', '32'],
      /error: --knn-k 200 is more than the 20 training images of the kNN bank; use at most 20/,
    ],
    [
      'unmix_byol_c10.ts',
      ['--knn-k', '200', '--batch-size', '8', '--warmup-epochs', '0'],
      /error: --knn-k 200 is more than the 20 training images/,
    ],
    [
      'unmix_simclr_c10.ts',
      ['--batch-size', '64', '--warmup-epochs', '0'],
      /error: --batch-size 64 is more than the 20 training images \(the last partial batch is dropped, so no step would run\)/,
    ],
    [
      'unmix_swav_c10.ts',
      ['--batch_size', '64', '--knn-every', '1'],
      /error: --batch_size 64 is more than the 20 training images/,
    ],
  ];
  for (const [name, args, message] of cases) {
    const dir = results();
    let error = '';
    try {
      example(
        name,
        [
          ...args,
          '--data',
          folder,
          '--crop',
          '32',
          '--epochs',
          '1',
          '--width',
          '4',
          '--no-progress',
          '--results-dir',
          dir,
          '--device',
          device,
        ].filter((a, i, all) => !(name === 'unmix_swav_c10.ts' && (a === '--crop' || all[i - 1] === '--crop'))),
      );
    } catch (e) {
      error = (e as Error).message;
    }
    expect([name, error]).toEqual([name, expect.stringMatching(message)]);
    expect([name, error]).not.toEqual([name, expect.stringMatching(/epoch 1\/1/)]);
    expect([name, fs.existsSync(path.join(dir, 'checkpoint.safetensors'))]).toEqual([name, false]);
  }
}, 300000);

test("a folder that is not CIFAR (40–48 px, its own statistics) trains with --crop and --mean/--std data; knn_eval uses the run's crop and normalisation", () => {
  const dir = results();
  const out = example('unmix_byol_c10.ts', [
    '--data',
    folder,
    '--crop',
    '24',
    '--mean',
    'data',
    '--std',
    'data',
    '--epochs',
    '1',
    '--warmup-epochs',
    '0',
    '--batch-size',
    '8',
    '--width',
    '4',
    '--proj-hidden-dim',
    '16',
    '--pred-hidden-dim',
    '16',
    '--knn-k',
    '3',
    '--no-progress',
    '--results-dir',
    dir,
    '--device',
    device,
  ]);
  const measured = /normalisation measured on the training images: mean \[([\d.,]+)\], std \[([\d.,]+)\]/.exec(out);
  expect(measured).not.toBeNull();
  const mean = measured![1].split(',').map(Number);
  // the training pixels' own mean, as printed (4 decimals), not CIFAR's
  expect(mean).toEqual(sums.map((s) => expect.closeTo(s / pixels, 3)));
  expect(out).toMatch(/epoch 1\/1: loss [\d.]+, test acc@1 [\d.]+%/);
  const args = JSON.parse(fs.readFileSync(path.join(dir, 'args.json'), 'utf8'));
  expect(args.normalization.mean).toEqual(mean.map((m: number) => expect.closeTo(m, 4)));
  expect(args.crop).toBe(24);
  const knn = JSON.parse(
    example('knn_eval.ts', [
      '--checkpoint',
      dir,
      '--data',
      folder,
      '--knn-k',
      '3',
      '--features',
      'backbone',
      '--json',
      '--device',
      device,
    ]),
  );
  expect(knn['test_acc@1']).toBeGreaterThanOrEqual(0);
  expect(knn['test_acc@1']).toBeLessThanOrEqual(100);
}, 300000);

test('--skip-corrupt: a broken image in a mixed-size folder is left out, said on stderr even with --no-progress, and the run trains', () => {
  const broken = path.join(tmp, 'broken');
  fs.cpSync(folder, broken, { recursive: true });
  const bad = path.join(broken, 'train', 'dark', '3.png');
  fs.writeFileSync(bad, fs.readFileSync(bad).subarray(0, 60));
  const args = [
    '--data',
    broken,
    '--crop',
    '24',
    '--epochs',
    '1',
    '--warmup-epochs',
    '0',
    '--batch-size',
    '8',
    '--width',
    '4',
    '--proj-hidden-dim',
    '16',
    '--knn-k',
    '3',
    '--no-progress',
    '--device',
    device,
  ];
  const run = (extra: string[]) =>
    spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(root, 'examples', 'unmix_simclr_c10.ts'),
        ...args,
        ...extra,
        '--results-dir',
        results(),
      ],
      { cwd: root, encoding: 'utf8', env: { ...process.env, UNMIX_CACHE_DIR: path.join(tmp, 'cache') } },
    );
  const refused = run([]);
  expect(refused.status).toBe(1);
  expect(refused.stderr).toMatch(/error: .*dark\/3\.png: cannot decode image/);
  const skipping = run(['--skip-corrupt']);
  expect(skipping.stderr).toMatch(
    /warning: skipped 1 images that could not be decoded: .*dark\/3\.png: cannot decode image/,
  );
  expect(skipping.stdout).toMatch(/19 images/);
  expect(skipping.stdout).toMatch(/epoch 1\/1: loss [\d.]+, test acc@1 [\d.]+%/);
  expect(skipping.status).toBe(0);
}, 300000);
