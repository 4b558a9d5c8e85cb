// Lost or mixed runs (issue 13, item 4): one run per results folder (lock, stale locks
// replaced), no silent overwrite, no resume with changed training flags, checkpoint before the
// logs that refer to it, stale temporaries removed, checksummed checkpoint data.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../../lib';
import { Trainer, TrainerOptions } from '../../lib/train/trainer';
import { toySetup } from '../support/toy-setup';
import { tempDir } from './helpers';

const dirs: string[] = [];
const tmp = () => {
  const d = tempDir('unmix-run-');
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function trainer(dir: string, epochs: number, extra: Partial<TrainerOptions> = {}, lines: string[] = []) {
  const setup = toySetup();
  return new Trainer({
    ...setup,
    lr: () => 0.05,
    epochs,
    resultsDir: dir,
    seed: 3,
    itersPerEpoch: 2,
    progress: false,
    log: (l) => lines.push(l),
    ...extra,
  });
}

test('a second run into a folder in use is refused; a lock left by a dead process is replaced', async () => {
  const dir = tmp();
  const first = trainer(dir, 2).run();
  await expect(trainer(dir, 2).run()).rejects.toThrow(`Trainer: ${dir} is in use by another run (pid ${process.pid}`);
  await first;
  expect(fs.existsSync(path.join(dir, '.unmix.lock'))).toBe(false);
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const other = tmp();
  fs.writeFileSync(
    path.join(other, '.unmix.lock'),
    JSON.stringify({ pid: Number(dead.stdout), host: os.hostname(), started: 'then' }),
  );
  const lines: string[] = [];
  await trainer(other, 1, {}, lines).run();
  expect(lines[0]).toBe(`removed a stale lock in ${other} (pid ${dead.stdout} is gone)`);
});

test('the same command on a finished run is refused, naming --resume and --overwrite', async () => {
  const dir = tmp();
  await trainer(dir, 1, { args: { lr: 0.05 } }).run();
  const before = fs.readFileSync(path.join(dir, 'checkpoint.safetensors'));
  await expect(trainer(dir, 1, { args: { lr: 0.05 } }).run()).rejects.toThrow(
    `Trainer: ${dir} already holds a run (checkpoint.safetensors, log.csv, log.jsonl, args.json): continue it with --resume, or replace it with --overwrite`,
  );
  expect(fs.readFileSync(path.join(dir, 'checkpoint.safetensors')).equals(before)).toBe(true);
  await trainer(dir, 1, { overwrite: true, args: { lr: 0.1 } }).run();
  expect(JSON.parse(fs.readFileSync(path.join(dir, 'args.json'), 'utf8')).lr).toBe(0.1);
});

test('--resume with changed training flags is refused and lists what may change; epochs may change', async () => {
  const dir = tmp();
  const args = { lr: 0.05, mocoT: 0.1, unmix: true, symmetric: true, bnSplits: 8, wd: 5e-4, mocoM: 0.99, epochs: 1 };
  await trainer(dir, 1, { args }).run();
  const changed = { ...args, lr: 0.1, mocoT: 0.2, unmix: false, mixedForwards: 1 };
  await expect(trainer(dir, 2, { resume: true, args: changed }).run()).rejects.toThrow(
    /cannot resume with changed training flags \(lr 0\.05 → 0\.1; mixedForwards \(unset\) → 1; mocoT 0\.1 → 0\.2; unmix true → false\); only epochs, knnEvery, .*progress.* may change on resume/,
  );
  expect(JSON.parse(fs.readFileSync(path.join(dir, 'args.json'), 'utf8')).lr).toBe(0.05);
  const r = await trainer(dir, 2, { resume: true, args: { ...args, epochs: 2 } }).run();
  expect(r.history.map((h) => h.epoch)).toEqual([1, 2]);
});

test.each([
  ['symmetric', false],
  ['bnSplits', 4],
  ['wd', 1e-4],
  ['mocoM', 0.999],
])('--resume with %s changed is refused and names it', async (flag, value) => {
  const dir = tmp();
  const args = { lr: 0.05, mocoT: 0.1, unmix: true, symmetric: true, bnSplits: 8, wd: 5e-4, mocoM: 0.99, epochs: 1 };
  await trainer(dir, 1, { args }).run();
  const before = (args as Record<string, unknown>)[flag];
  await expect(trainer(dir, 2, { resume: true, args: { ...args, [flag]: value } }).run()).rejects.toThrow(
    new RegExp(
      `cannot resume with changed training flags \\(${flag} ${String(before).replace('.', '\\.')} → ${String(value).replace('.', '\\.')}\\)`,
    ),
  );
});

test('a failed first checkpoint write leaves no log listing epoch 1, and --resume says it starts over', async () => {
  const dir = tmp();
  const t = trainer(dir, 2);
  const method = t.options.method as unknown as { extraState: () => unknown };
  method.extraState = () => {
    throw new Error('disk full');
  };
  await expect(t.run()).rejects.toThrow('disk full');
  expect(fs.existsSync(path.join(dir, 'log.csv'))).toBe(false);
  // A log written by an older run that was killed before its first checkpoint:
  fs.writeFileSync(path.join(dir, 'log.csv'), 'epoch,train_loss,test_acc@1\n1,0.5,\n');
  const lines: string[] = [];
  await trainer(dir, 1, { resume: true }, lines).run();
  expect(lines[0]).toBe(`no checkpoint in ${dir} to resume from: starting from epoch 1 (the logs there are replaced)`);
});

test('on resume the logs are reconciled with the checkpoint, and stale temporaries are removed', async () => {
  const dir = tmp();
  await trainer(dir, 1).run();
  // As after a kill between the checkpoint and the logs of epoch 2, with the temporary file left:
  fs.appendFileSync(path.join(dir, 'log.csv'), '2,0.1,\n');
  const tmpFile = path.join(dir, '.checkpoint.safetensors.99999.1700000000000.tmp');
  fs.writeFileSync(tmpFile, 'partial');
  const t = trainer(dir, 1, { resume: true });
  await t.run();
  expect(fs.existsSync(tmpFile)).toBe(false);
  expect(
    fs
      .readFileSync(path.join(dir, 'log.csv'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(',')[0]),
  ).toEqual(['epoch', '1']);
});

test('a checkpoint with 4 bytes flipped in its tensor data is refused on load', async () => {
  const dir = tmp();
  await trainer(dir, 1).run();
  const file = path.join(dir, 'checkpoint.safetensors');
  const bytes = fs.readFileSync(file);
  for (let i = 1; i <= 4; i++) bytes[bytes.length - 16 * i] ^= 0xff;
  fs.writeFileSync(file, bytes);
  expect(() => u.loadSafetensors(file)).toThrow(
    `${file}: the tensor data does not match the checksum in its header: the file is damaged`,
  );
  await expect(trainer(dir, 2, { resume: true }).run()).rejects.toThrow('does not match the checksum');
});
