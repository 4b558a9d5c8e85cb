// What the trainer draws: curves.png after each epoch (on by default, never failing a run) and the
// onEpoch hook notebooks redraw from. TensorBoard output is in tensorboard.test.ts.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import * as u from '../lib';
import { EpochRecord, Trainer, TrainerOptions } from '../lib/train/trainer';
import { device } from './helpers';
import { toySetup } from './support/toy-setup';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-pictures-'));

function run(dir: string, extra: Partial<TrainerOptions> = {}) {
  return new Trainer({
    ...toySetup(device),
    lr: () => 0.05,
    epochs: 3,
    resultsDir: dir,
    seed: 3,
    progress: false,
    log: () => undefined,
    evaluate: async (e) => 30 + 2 * e,
    ...extra,
  }).run();
}

test('curves.png is the chart of the whole log once the run returns, and onEpoch sees every epoch', async () => {
  const dir = tmp();
  const seen: number[][] = [];
  const { history } = await run(dir, {
    onEpoch: (record: EpochRecord, all: EpochRecord[]) => void seen.push([record.epoch, all.length]),
  });
  expect(seen).toEqual([
    [1, 1],
    [2, 2],
    [3, 3],
  ]);
  const file = fs.readFileSync(path.join(dir, 'curves.png'));
  const meta = await sharp(file).metadata();
  expect(meta.format).toBe('png');
  // the same chart drawn directly from the history (vega and sharp are deterministic), not an earlier epoch's
  const expected = await u.curvesChart([{ name: path.basename(dir), history }]);
  expect([meta.width, meta.height]).toEqual([expected.width, expected.height]);
  expect(file.equals(expected.png)).toBe(true);
  expect(file.equals((await u.curvesChart([{ name: path.basename(dir), history: history.slice(0, 2) }])).png)).toBe(
    false,
  );
});

test('curves: false draws nothing; a chart that cannot be written is one warning and the run goes on', async () => {
  const off = tmp();
  await run(off, { curves: false, epochs: 1 });
  expect(fs.existsSync(path.join(off, 'curves.png'))).toBe(false);

  const blocked = tmp();
  fs.mkdirSync(path.join(blocked, 'curves.png')); // a folder where the picture should go
  const lines: string[] = [];
  const { history, interrupted } = await run(blocked, { log: (l) => lines.push(l) });
  expect(interrupted).toBe(false);
  expect(history.map((r) => r.epoch)).toEqual([1, 2, 3]);
  const warnings = lines.filter((l) => l.startsWith('warning:'));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/^warning: curves\.png not drawn: .*\(training goes on\)$/);
});
