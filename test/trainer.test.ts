// The trainer: logs as the reference writes them, exact resume (after a kill, after Ctrl-C mid-epoch),
// a clear stop on a NaN loss, no leaked tensors across epochs.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
import { Trainer, TrainerOptions } from '../lib/train/trainer';
import { device, settle } from './helpers';
import { toySetup } from './support/toy-setup';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-train-'));
const quiet = { progress: false as const, log: () => undefined };

function trainer(dir: string, epochs: number, extra: Partial<TrainerOptions> = {}) {
  const setup = toySetup(device);
  const t = new Trainer({
    ...setup,
    lr: ({ epoch }) => 0.05 * 0.5 * (1 + Math.cos((Math.PI * (epoch + 1)) / 4)),
    epochs,
    resultsDir: dir,
    seed: 3,
    ...quiet,
    ...extra,
  });
  return { ...setup, trainer: t };
}

function weights(state: Record<string, u.Tensor>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(state).map(([k, t]) => [k, Array.from(t.to('cpu').data() as Float32Array)]));
}

test('log.csv (epoch,train_loss,test_acc@1), log.jsonl, args.json and a checkpoint every epoch', async () => {
  const dir = tmp();
  let evaluated = 0;
  const { trainer: t } = trainer(dir, 2, { evaluate: async () => 50 + evaluated++, args: { lr: 0.05, arch: 'toy' } });
  const result = await t.run();
  expect(result.interrupted).toBe(false);
  const csv = fs.readFileSync(path.join(dir, 'log.csv'), 'utf8').trim().split('\n');
  expect(csv[0]).toBe('epoch,train_loss,test_acc@1');
  expect(csv.slice(1).map((l) => l.split(',')[0])).toEqual(['1', '2']);
  expect(csv.slice(1).map((l) => Number(l.split(',')[2]))).toEqual([50, 51]);
  expect(Number(csv[1].split(',')[1])).toBeGreaterThan(0);
  const jsonl = fs
    .readFileSync(path.join(dir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(jsonl[1]).toMatchObject({ epoch: 2, 'test_acc@1': 51 });
  expect(jsonl[1].terms.lam).toBeGreaterThan(0);
  expect(jsonl[0].images_per_s).toBeGreaterThan(0);
  expect(JSON.parse(fs.readFileSync(path.join(dir, 'args.json'), 'utf8'))).toMatchObject({
    lr: 0.05,
    arch: 'toy',
    seed: 3,
    method: 'toy',
  });
  expect(fs.existsSync(result.checkpoint)).toBe(true);
});

test('evaluateFirst: the random-initialisation baseline is epoch 0 of log.jsonl, not of log.csv', async () => {
  const dir = tmp();
  const seen: number[] = [];
  await trainer(dir, 1, { evaluate: async (e) => (seen.push(e), 10), evaluateFirst: true }).trainer.run();
  expect(seen).toEqual([0, 1]);
  const jsonl = fs
    .readFileSync(path.join(dir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(jsonl.map((r) => r.epoch)).toEqual([0, 1]);
  expect(
    fs
      .readFileSync(path.join(dir, 'log.csv'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(',')[0]),
  ).toEqual(['epoch', '1']);
});

test('2 epochs, then a new process resumes for 2 more: the same weights as 4 straight epochs', async () => {
  const straight = trainer(tmp(), 4);
  await straight.trainer.run();
  const dir = tmp();
  await trainer(dir, 2).trainer.run();
  const resumed = trainer(dir, 4, { resume: true });
  expect(resumed.method.stepsSeen).toBe(0);
  await resumed.trainer.run();
  expect(resumed.method.stepsSeen).toBe(2 * 6);
  expect(weights(resumed.method.stateDict())).toEqual(weights(straight.method.stateDict()));
  const csv = fs.readFileSync(path.join(dir, 'log.csv'), 'utf8').trim().split('\n');
  expect(csv.length).toBe(5);
});

test('stopped mid-epoch (what Ctrl-C does), resumed at that batch: the same weights', async () => {
  const straight = trainer(tmp(), 2);
  await straight.trainer.run();
  const dir = tmp();
  const first = trainer(dir, 2);
  first.method.onStep = (ctx) => {
    if (ctx.iteration === 8) first.trainer.stop();
  };
  const r = await first.trainer.run();
  expect(r.interrupted).toBe(true);
  const resumed = trainer(dir, 2, { resume: true });
  await resumed.trainer.run();
  expect(resumed.method.stepsSeen).toBe(12 - 9);
  expect(weights(resumed.method.stateDict())).toEqual(weights(straight.method.stateDict()));
});

test('a NaN loss stops training with a clear message; the last checkpoint stays usable', async () => {
  const dir = tmp();
  const { trainer: t, method } = trainer(dir, 3);
  method.nanFrom = 8;
  await expect(t.run()).rejects.toThrow(/the loss is NaN at epoch 2, iteration 8 .*checkpoint\.safetensors/);
  const resumed = trainer(dir, 1, { resume: true });
  // the checkpoint is from the end of epoch 1 and loads cleanly
  const r = await resumed.trainer.run();
  expect(r.history.length).toBe(1);
});

test('resuming a different run is refused and changes nothing', async () => {
  const dir = tmp();
  await trainer(dir, 1).trainer.run();
  const other = trainer(dir, 2, { resume: true, seed: 4 });
  const before = weights(other.method.stateDict());
  await expect(other.trainer.run()).rejects.toThrow(/cannot resume a different run \(seed 3 vs 4\)/);
  expect(weights(other.method.stateDict())).toEqual(before);
});

test('live tensors and bytes do not grow across epochs', async () => {
  const dir = tmp();
  const setup = toySetup(device);
  const make = (epochs: number) =>
    new Trainer({ ...setup, lr: () => 0.05, epochs, resultsDir: dir, seed: 3, resume: true, ...quiet });
  await make(1).run(); // creates the momentum buffers
  await settle();
  const before = u.liveTensors();
  await make(4).run();
  await settle();
  const after = u.liveTensors();
  expect(after.count).toBe(before.count);
  expect(after.bytes).toBe(before.bytes);
});

// node itself (not the tsx wrapper process), so signals reach the training process directly
const node = process.execPath;
const script = path.join(__dirname, 'support', 'train-toy.ts');
const run = (...args: string[]) => [node, ['--import', 'tsx', script, ...args]] as const;

test('Ctrl-C (a real SIGINT) saves and exits cleanly; kill -9 loses only the current epoch; both resume exactly', async () => {
  const straightDir = tmp();
  expect(spawnSync(...run(straightDir, '3'), { encoding: 'utf8' }).stdout).toMatch(/done interrupted=false/);
  const dir = tmp();
  // SIGINT at step 4 (epoch 1 of 6 steps): the run saves at the batch and returns
  const out = await new Promise<string>((resolve) => {
    const child = spawn(...run(dir, '3', '--announce'));
    let text = '';
    child.stdout.on('data', (d) => {
      text += d;
      if (text.includes('step 4\n') && !text.includes('SIGNALLED')) {
        text += 'SIGNALLED';
        child.kill('SIGINT');
      }
    });
    child.on('close', () => resolve(text));
  });
  expect(out).toMatch(/interrupted: saving a checkpoint/);
  expect(out).toMatch(/done interrupted=true/);
  // resume, and kill -9 during epoch 3 (step 14): epochs 1-2 are in the checkpoint
  await new Promise<void>((resolve) => {
    const child = spawn(...run(dir, '3', '--resume', '--announce'));
    let text = '';
    child.stdout.on('data', (d) => {
      text += d;
      if (text.includes('step 14\n')) child.kill('SIGKILL');
    });
    child.on('close', () => resolve());
  });
  const last = spawnSync(...run(dir, '3', '--resume'), { encoding: 'utf8' });
  expect(last.stdout).toMatch(/resumed from .* epoch 3, batch 0/);
  expect(last.stdout).toMatch(/done interrupted=false/);
  const a = u.loadSafetensors(path.join(straightDir, 'final.safetensors')).tensors;
  const b = u.loadSafetensors(path.join(dir, 'final.safetensors')).tensors;
  expect(weights(b)).toEqual(weights(a));
}, 120000);

test('MoCo + Un-Mix: 4 epochs straight equal 2 epochs, a fresh process-like restart, and 2 more (weights, key encoder, queue, pointer)', async () => {
  const { MoCo } = await import('../lib/ssl/moco');
  const { presets } = await import('../lib');
  const { Loader } = await import('../lib/data/loader');
  const make = (dir: string, epochs: number, resume: boolean) => {
    u.manualSeed(7);
    const n = 32;
    const images = u.rand([n, 3, 8, 8], { device }).mul(255).to('uint8');
    const set = {
      kind: 'tensor' as const,
      format: 'synthetic' as const,
      split: 'train',
      images,
      labels: u.zeros([n], { dtype: 'int64', device }),
      classes: ['a'],
    };
    const loader = new Loader(set, { batchSize: 8, views: presets.mocoCifar({ size: 8 }), seed: 1 });
    const method = new MoCo({ preset: 'cifar', width: 4, dim: 8, K: 32, bnSplits: 2, device });
    const optimizer = new u.SGD(method.trainableParameters(), { lr: 0.06, momentum: 0.9, weightDecay: 5e-4 });
    const t = new Trainer({
      method,
      loader,
      optimizer,
      lr: ({ epoch }) => 0.06 * 0.5 * (1 + Math.cos((Math.PI * (epoch + 1)) / 4)),
      epochs,
      resultsDir: dir,
      seed: 3,
      resume,
      ...quiet,
    });
    return { method, trainer: t };
  };
  const straight = make(tmp(), 4, false);
  await straight.trainer.run();
  const dir = tmp();
  await make(dir, 2, false).trainer.run();
  const resumed = make(dir, 4, true);
  await resumed.trainer.run();
  expect(resumed.method.extraState()).toEqual(straight.method.extraState());
  const a = straight.method.stateDict();
  const b = resumed.method.stateDict();
  expect(Object.keys(b)).toEqual(Object.keys(a));
  for (const k of Object.keys(a)) expect([k, a[k].sub(b[k]).abs().max().item()]).toEqual([k, 0]);
});

test("inputDtype 'float64' trains a float64 method on the loader's float32 views; other dtypes are refused", async () => {
  const setup = toySetup(device);
  setup.method.to('float64');
  const optimizer = new u.SGD(setup.method.trainableParameters(), { lr: 0.05 });
  const options = { ...setup, optimizer, lr: () => 0.05, epochs: 1, seed: 3, ...quiet };
  // without the cast the float32 views meet float64 weights: LibTorch's dtype error, as in PyTorch
  await expect(new Trainer({ ...options, resultsDir: tmp() }).run()).rejects.toThrow(/type|dtype|Double|Float/i);
  const dir = tmp();
  const result = await new Trainer({ ...options, resultsDir: dir, inputDtype: 'float64' }).run();
  expect(result.history.map((r) => r.epoch)).toEqual([1]);
  expect(result.history[0].train_loss).toBeGreaterThan(0);
  expect(setup.method.trainableParameters().every((p) => p.dtype === 'float64')).toBe(true);
  expect(() => new Trainer({ ...options, resultsDir: tmp(), inputDtype: 'float16' as 'float64' })).toThrow(
    /Trainer: inputDtype must be 'float32' or 'float64', got 'float16'/,
  );
});
