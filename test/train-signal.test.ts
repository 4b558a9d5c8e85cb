// Interactive use of the trainer: an AbortSignal stops at the next step boundary and saves (the REPL
// takes Ctrl-C), progress stays on stderr and off a REPL's prompt, one line per epoch when asked for off
// a terminal, and epoch 0's train_loss is null everywhere (in memory, log.jsonl, after a resume).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Trainer, TrainerOptions } from '../lib/train/trainer';
import { progressMode } from '../lib/train/progress';
import { device } from './helpers';
import { toySetup } from './support/toy-setup';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-signal-'));

function trainer(dir: string, epochs: number, extra: Partial<TrainerOptions> = {}) {
  const setup = toySetup(device);
  return {
    ...setup,
    trainer: new Trainer({
      ...setup,
      lr: () => 0.05,
      epochs,
      resultsDir: dir,
      seed: 3,
      progress: false,
      log: () => undefined,
      curves: false,
      ...extra,
    }),
  };
}

test('signal: aborting mid-epoch saves at the next step boundary and resolves interrupted; resume continues from that batch', async () => {
  const dir = tmp();
  const controller = new AbortController();
  const first = trainer(dir, 2, { signal: controller.signal });
  first.method.onStep = (ctx) => {
    if (ctx.iteration === 3) controller.abort();
  };
  const result = await first.trainer.run();
  expect(result).toMatchObject({ interrupted: true, stoppedBy: 'signal' });
  expect(first.method.stepsSeen).toBe(4); // the step in progress finished, no further one started
  const resumed = trainer(dir, 2, { resume: true });
  const logs: string[] = [];
  await new Trainer({ ...resumed.trainer.options, log: (l) => logs.push(l) }).run();
  expect(logs[0]).toMatch(/resumed from .*: epoch 1, batch 4 of 6/);
  expect(resumed.method.stepsSeen).toBe(12 - 4);
});

test('signal: aborted during an evaluation (after an epoch, or before training), the run stops before the next step', async () => {
  const controller = new AbortController();
  const { trainer: t, method } = trainer(tmp(), 3, {
    signal: controller.signal,
    evaluate: async () => (controller.abort(), 10),
  });
  const result = await t.run();
  expect(result).toMatchObject({ interrupted: true, stoppedBy: 'signal' });
  expect(method.stepsSeen).toBe(6);
  expect(result.history.map((r) => r.epoch)).toEqual([1]);

  // during the evaluation before training: no step at all, and a checkpoint to resume from
  const early = new AbortController();
  const dir = tmp();
  const before = trainer(dir, 3, {
    signal: early.signal,
    evaluateFirst: true,
    evaluate: async () => (early.abort(), 10),
  });
  expect(await before.trainer.run()).toMatchObject({
    interrupted: true,
    stoppedBy: 'signal',
    history: [{ epoch: 0, train_loss: null }],
  });
  expect(before.method.stepsSeen).toBe(0);
  expect(fs.existsSync(path.join(dir, 'checkpoint.safetensors'))).toBe(true);
});

test('signal: an already aborted signal rejects before anything is written; a non-signal is a TypeError', async () => {
  const dir = path.join(tmp(), 'run');
  const controller = new AbortController();
  controller.abort(new Error('user gave up'));
  await expect(trainer(dir, 1, { signal: controller.signal }).trainer.run()).rejects.toThrow(
    /Trainer: the signal was aborted before the run started \(user gave up\); nothing was read or written/,
  );
  expect(fs.existsSync(dir)).toBe(false);
  expect(() => trainer(dir, 1, { signal: 'stop' as unknown as AbortSignal })).toThrow(
    /Trainer: signal must be an AbortSignal \(new AbortController\(\)\.signal\), got string/,
  );
});

test('progress: a bar only on a terminal outside a REPL; lines when asked for where no bar can be drawn', () => {
  expect(progressMode('auto', { tty: true, repl: false, ci: false })).toBe('bar');
  expect(progressMode('auto', { tty: true, repl: true, ci: false })).toBe('off');
  expect(progressMode('auto', { tty: false, repl: false, ci: false })).toBe('off');
  expect(progressMode(true, { tty: false, repl: false, ci: false })).toBe('lines');
  expect(progressMode(true, { tty: true, repl: true, ci: false })).toBe('lines');
  expect(progressMode(false, { tty: true, repl: false, ci: false })).toBe('off');
});

test('progress: true off a terminal writes one line per epoch to stderr, nothing to stdout', async () => {
  const err: string[] = [];
  const out: string[] = [];
  const spyErr = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  const spyOut = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  try {
    expect(process.stderr.isTTY).toBeFalsy();
    await trainer(tmp(), 2, { progress: true }).trainer.run();
  } finally {
    spyErr.mockRestore();
    spyOut.mockRestore();
  }
  const lines = err
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('epoch '));
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^epoch 1\/2: 6\/6 batches, loss [\d.]+, lr 0\.0500, \d+ img\/s, [\d.]+ s$/);
  expect(lines[1]).toMatch(/^epoch 2\/2: 6\/6 batches/);
  expect(out.join('')).toBe('');
});

test('epoch 0 train_loss is null: in the result, log.jsonl and after a resume; log.csv keeps its three columns', async () => {
  const dir = tmp();
  const first = await trainer(dir, 1, { evaluate: async () => 20, evaluateFirst: true }).trainer.run();
  expect(first.history[0]).toMatchObject({ epoch: 0, train_loss: null, 'test_acc@1': 20 });
  expect(typeof first.history[1].train_loss).toBe('number');
  const jsonl = () =>
    fs
      .readFileSync(path.join(dir, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  expect(jsonl()[0].train_loss).toBeNull();
  const resumed = await trainer(dir, 2, { evaluate: async () => 20, evaluateFirst: true, resume: true }).trainer.run();
  expect(resumed.history.map((r) => r.train_loss === null)).toEqual([true, false, false]);
  expect(jsonl().map((r) => r.train_loss === null)).toEqual([true, false, false]);
  const csv = fs.readFileSync(path.join(dir, 'log.csv'), 'utf8').trim().split('\n');
  expect(csv.map((l) => l.split(',').length)).toEqual([3, 3, 3]);
});
