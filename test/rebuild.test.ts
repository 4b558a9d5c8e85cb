// rebuildTrained: every method's run (MoCo CIFAR and ImageNet, SwAV, BYOL, SimCLR) is rebuilt from its
// results folder or checkpoint, with the trained weights; the checkpoint's metadata is enough, args.json
// is the fallback; what cannot be rebuilt says why.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
import type { TensorImageSet } from '../lib/data/dataset';
import { Loader } from '../lib/data/loader';
import { mocoCifar } from '../lib/data/presets';
import { saveCheckpoint } from '../lib/io/checkpoint';
import { methodFromArgs } from '../lib/train/methods';
import { rebuildTrained } from '../lib/train/rebuild';
import { Trainer } from '../lib/train/trainer';
import { device } from './helpers';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-rebuild-'));
const unmix = { unmix: true, prob: 0.5, beta: 1 };
const RUNS: [string, Record<string, unknown>][] = [
  [
    'moco',
    {
      example: 'unmix_c10.ts',
      arch: 'resnet18',
      width: 4,
      mocoDim: 8,
      mocoK: 32,
      mocoM: 0.99,
      mocoT: 0.1,
      bnSplits: 2,
      symmetric: true,
      mixedForwards: 2,
      ...unmix,
    },
  ],
  [
    'moco',
    {
      example: 'unmix_moco_imagenet.ts',
      arch: 'resnet18',
      width: 4,
      mocoDim: 8,
      mocoK: 32,
      mocoM: 0.999,
      mocoT: 0.2,
      mlp: true,
      unmix: true,
      unmix_prob: 0.5,
      beta: 1,
      bnSplits: 1,
    },
  ],
  [
    'swav',
    {
      variant: 'cifar',
      arch: 'resnet18',
      width: 4,
      hidden_mlp: 16,
      feat_dim: 8,
      nmb_prototypes: 5,
      crops_for_assign: [0, 1],
      temperature: 0.1,
      epsilon: 0.05,
      sinkhorn_iterations: 3,
      queue_length: 0,
      batch_size: 8,
      epoch_queue_starts: 15,
      freeze_prototypes_niters: 0,
      unmix_prob: 0.5,
      unmix_beta: 1,
      run_swav: false,
    },
  ],
  [
    'byol',
    { arch: 'resnet18', width: 4, projHiddenDim: 16, projOutputDim: 8, predHiddenDim: 16, baseTau: 0.99, ...unmix },
  ],
  ['simclr', { arch: 'resnet18', width: 4, projHiddenDim: 16, projOutputDim: 8, temperature: 0.2, ...unmix }],
];

function state(m: u.Module): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.to('cpu').to('float64').data() as Float64Array)]),
  );
}

/** One epoch of two steps on 16 random 16×16 images: the weights move away from their initialisation. */
async function trainRun(name: string, args: Record<string, unknown>): Promise<{ dir: string; trained: u.Module }> {
  u.manualSeed(1);
  const images = u.rand([16, 3, 16, 16], { device }).mul(255).to('uint8');
  const set: TensorImageSet = {
    kind: 'tensor',
    format: 'synthetic',
    split: 'train',
    images,
    labels: u.zeros([16], { dtype: 'int64', device }),
    classes: ['a'],
  };
  const method = methodFromArgs(name, args, device);
  const loader = new Loader(set, { batchSize: 8, views: mocoCifar({ size: 16 }), seed: 0 });
  const optimizer = new u.SGD(method.trainableParameters(), { lr: 0.05, momentum: 0.9 });
  const dir = tmp();
  await new Trainer({
    method,
    loader,
    optimizer,
    lr: () => 0.05,
    epochs: 1,
    resultsDir: dir,
    progress: false,
    curves: false,
    log: () => undefined,
    args,
  }).run();
  return { dir, trained: method };
}

test.each(RUNS.map(([name, args]) => [`${name}${args.example ? ` (${args.example})` : ''}`, name, args] as const))(
  '%s: rebuilt from its results folder with the trained weights, in eval mode',
  async (_label, name, args) => {
    const { dir, trained } = await trainRun(name, args);
    const fresh = state(methodFromArgs(name, args, device));
    const rebuilt = rebuildTrained(dir, { device });
    expect(rebuilt.methodName).toBe(name);
    expect(rebuilt.checkpoint).toBe(path.join(dir, 'checkpoint.safetensors'));
    expect(rebuilt.method.training).toBe(false);
    const got = state(rebuilt.method);
    expect(got).toEqual(state(trained));
    expect(got).not.toEqual(fresh); // training moved them: the comparison can fail
    // the checkpoint's metadata alone is enough
    fs.rmSync(path.join(dir, 'args.json'));
    expect(state(rebuildTrained(path.join(dir, 'checkpoint.safetensors'), { device }).method)).toEqual(got);
  },
  120000,
);

test('a checkpoint without args in its metadata is rebuilt from args.json beside it', () => {
  const dir = tmp();
  const args = RUNS[3][1];
  const method = methodFromArgs('byol', args, device);
  saveCheckpoint(path.join(dir, 'checkpoint.safetensors'), { modules: { method } });
  fs.writeFileSync(path.join(dir, 'args.json'), JSON.stringify({ ...args, method: 'byol' }));
  const rebuilt = rebuildTrained(dir, { device });
  expect(rebuilt.methodName).toBe('byol');
  expect(state(rebuilt.method)).toEqual(state(method));
});

test('what cannot be rebuilt says why', () => {
  const empty = tmp();
  expect(() => rebuildTrained(path.join(empty, 'nope'))).toThrow(/rebuildTrained: .*nope does not exist/);
  expect(() => rebuildTrained(empty)).toThrow(
    /rebuildTrained: .* holds no checkpoint\.safetensors \(is it a results folder\?\)/,
  );
  const method = methodFromArgs('simclr', RUNS[4][1], device);
  const file = path.join(empty, 'checkpoint.safetensors');
  saveCheckpoint(file, { modules: { method } });
  expect(() => rebuildTrained(empty)).toThrow(
    /does not say how it was trained \(no method and args in its metadata, and no .*args\.json\)/,
  );
  fs.writeFileSync(path.join(empty, 'args.json'), JSON.stringify({ method: 'dino' }));
  expect(() => rebuildTrained(empty)).toThrow(
    /rebuildTrained: .*args\.json: method 'dino' cannot be rebuilt \(known: moco, swav, byol, simclr\)/,
  );
  expect(() => rebuildTrained(42 as unknown as string)).toThrow(
    /rebuildTrained: source must be a results folder or a checkpoint file, got 42/,
  );
});
