// The README's run command: the quick-start example trains on generated data, no download.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { device } from './helpers';

test('examples/quickstart.ts trains a classifier', () => {
  const root = path.join(__dirname, '..');
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'examples', 'quickstart.ts'), device],
    { cwd: root, encoding: 'utf8' },
  );
  const accuracies = [...out.matchAll(/accuracy ([\d.]+)%/g)].map((m) => Number(m[1]));
  const losses = [...out.matchAll(/loss ([\d.]+)/g)].map((m) => Number(m[1]));
  expect(accuracies).toHaveLength(6);
  expect(accuracies[accuracies.length - 1]).toBeGreaterThan(90);
  expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
  expect(out).toMatch(/live tensors: 6 /);
});

// The Un-Mix examples: every flag documented in --help, and tiny end-to-end runs (train, checkpoint,
// kNN and linear evaluation of the checkpoint) on the embedded synthetic data.
const root = path.join(__dirname, '..');
function example(name: string, args: string[]): string {
  return execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'examples', name), ...args], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-example-'));

test.each([
  [
    'unmix_c10.ts',
    [
      '--arch',
      '--lr',
      '--epochs',
      '--schedule',
      '--no-cos',
      '--batch-size',
      '--wd',
      '--moco-dim',
      '--moco-k',
      '--moco-m',
      '--moco-t',
      '--bn-splits',
      '--no-symmetric',
      '--prob',
      '--no-unmix',
      '--knn-k',
      '--knn-t',
      '--resume',
      '--results-dir',
      '--data',
      '--device',
      '--seed',
      '--workers',
      '--preset',
    ],
  ],
  ['unmix_c100.ts', ['--moco-k', '--results-dir']],
  [
    'unmix_swav_c10.ts',
    [
      '--base_lr',
      '--final_lr',
      '--nmb_prototypes',
      '--queue_length',
      '--epoch_queue_starts',
      '--freeze_prototypes_niters',
      '--warmup_epochs',
      '--epsilon',
      '--sinkhorn_iterations',
      '--unmix_prob',
      '--run_swav',
      '--dump_path',
      '--preset',
    ],
  ],
  ['unmix_swav_c100.ts', ['--nmb_prototypes']],
  ['unmix_moco_imagenet.ts', ['--mlp', '--aug-plus', '--cos', '--moco-t', '--moco-tm', '--unmix_prob', '--preset']],
  ['unmix_swav_imagenet.ts', ['--nmb_crops', '--size_crops', '--min_scale_crops', '--max_scale_crops', '--preset']],
  [
    'unmix_byol_c10.ts',
    [
      '--lr',
      '--wd',
      '--warmup-epochs',
      '--proj-hidden-dim',
      '--pred-hidden-dim',
      '--base-tau',
      '--no-unmix',
      '--prob',
      '--beta',
      '--crop',
      '--mean',
      '--std',
      '--knn-k',
      '--knn-every',
      '--skip-corrupt',
      '--preset',
    ],
  ],
  [
    'unmix_simclr_c10.ts',
    ['--lr', '--temperature', '--proj-output-dim', '--no-unmix', '--crop', '--mean', '--std', '--preset'],
  ],
  ['knn_eval.ts', ['--checkpoint', '--knn-k', '--features', '--crop', '--mean', '--std']],
  ['linear_eval.ts', ['--checkpoint', '--lr', '--wd', '--schedule', '--no-augment']],
])('%s --help lists its flags', (name, flags) => {
  const help = example(name, ['--help']);
  for (const flag of flags) expect([name, help.includes(flag)]).toEqual([name, true]);
});

test('unmix_c10.ts trains, checkpoints and resumes; knn_eval.ts and linear_eval.ts read the checkpoint', () => {
  const dir = tmpDir();
  const tiny = [
    '--preset',
    'smoke',
    '--subset',
    '16',
    '--test-subset',
    '8',
    '--batch-size',
    '16',
    '--bn-splits',
    '2',
    '--moco-k',
    '64',
    '--knn-k',
    '5',
    '--iters-per-epoch',
    '3',
    '--no-progress',
    '--device',
    device,
  ];
  const first = example('unmix_c10.ts', [...tiny, '--epochs', '1', '--results-dir', dir]);
  expect(first).toMatch(/epoch 0 \(before training\): test acc@1/);
  expect(first).toMatch(/epoch 1\/1: loss [\d.]+, test acc@1 [\d.]+%/);
  const resumed = example('unmix_c10.ts', [...tiny, '--epochs', '2', '--results-dir', dir, '--resume']);
  expect(resumed).toMatch(/resumed from .*checkpoint\.safetensors: epoch 2, batch 0/);
  const csv = fs.readFileSync(path.join(dir, 'log.csv'), 'utf8').trim().split('\n');
  expect(csv.map((l: string) => l.split(',')[0])).toEqual(['epoch', '1', '2']);
  const knn = JSON.parse(
    example('knn_eval.ts', [
      '--checkpoint',
      path.join(dir, 'checkpoint.safetensors'),
      '--subset',
      '16',
      '--test-subset',
      '8',
      '--knn-k',
      '5',
      '--json',
      '--device',
      device,
    ]),
  );
  expect(knn['test_acc@1']).toBeGreaterThanOrEqual(0);
  const linear = JSON.parse(
    example('linear_eval.ts', [
      '--checkpoint',
      path.join(dir, 'checkpoint.safetensors'),
      '--subset',
      '16',
      '--test-subset',
      '8',
      '--epochs',
      '2',
      '--no-augment',
      '--json',
      '--device',
      device,
    ]),
  );
  expect(linear.best).toBeGreaterThanOrEqual(0);
  expect(linear.bestEpoch).toBeGreaterThanOrEqual(1);
});

test.each([
  ['unmix_swav_c10.ts', ['--subset', '16', '--test-subset', '8', '--batch_size', '16', '--knn-k', '5']],
  [
    'unmix_moco_imagenet.ts',
    [
      '--subset',
      '8',
      '--test-subset',
      '4',
      '--batch-size',
      '8',
      '--moco-k',
      '64',
      '--crop',
      '32',
      '--knn-k',
      '3',
      '--mlp',
      '--aug-plus',
      '--cos',
      '--unmix_prob',
      '0.5',
    ],
  ],
  [
    'unmix_swav_imagenet.ts',
    ['--subset', '8', '--test-subset', '4', '--batch_size', '8', '--size_crops', '32,16', '--knn-k', '3'],
  ],
  [
    'unmix_byol_c10.ts',
    [
      '--subset',
      '8',
      '--test-subset',
      '4',
      '--batch-size',
      '16',
      '--width',
      '4',
      '--proj-hidden-dim',
      '32',
      '--pred-hidden-dim',
      '32',
      '--warmup-epochs',
      '0',
      '--knn-k',
      '3',
    ],
  ],
  [
    'unmix_simclr_c10.ts',
    [
      '--subset',
      '8',
      '--test-subset',
      '4',
      '--batch-size',
      '16',
      '--width',
      '4',
      '--proj-hidden-dim',
      '32',
      '--warmup-epochs',
      '0',
      '--knn-k',
      '3',
    ],
  ],
])('%s runs a tiny smoke epoch; knn_eval.ts rebuilds the model from its checkpoint', (name, args) => {
  const dir = tmpDir();
  const out = example(name, [
    '--preset',
    'smoke',
    ...args,
    '--epochs',
    '1',
    '--iters-per-epoch',
    '2',
    '--no-progress',
    '--device',
    device,
    '--results-dir',
    dir,
  ]);
  expect(out).toMatch(/epoch 1\/1: loss [\d.]+/);
  const knn = JSON.parse(
    example('knn_eval.ts', [
      '--checkpoint',
      path.join(dir, 'checkpoint.safetensors'),
      '--subset',
      '8',
      '--test-subset',
      '4',
      '--knn-k',
      '3',
      '--json',
      '--device',
      device,
    ]),
  );
  expect(knn['test_acc@1']).toBeGreaterThanOrEqual(0);
});

test('bad flags give one clear line and exit 1', () => {
  expect(() =>
    example('unmix_c10.ts', [
      '--moco-k',
      '100',
      '--batch-size',
      '16',
      '--bn-splits',
      '2',
      '--subset',
      '16',
      '--test-subset',
      '8',
      '--epochs',
      '1',
      '--results-dir',
      tmpDir(),
    ]),
  ).toThrow(/error: .*(K|queue).*/);
  expect(() => example('unmix_c10.ts', ['--data', '/nonexistent/folder', '--results-dir', tmpDir()])).toThrow(
    /error: .*\/nonexistent\/folder/,
  );
});
