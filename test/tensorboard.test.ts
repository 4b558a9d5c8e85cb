// TensorBoard: event files framed and encoded as TensorFlow writes them (checked by our reader and by
// TensorBoard's own EventAccumulator), and the trainer's scalars and first-batch picture in them.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import * as u from '../lib';
import { decodeEvent, maskedCrc32c, readTfRecords, tfRecord } from '../lib/tensorboard/events';
import { UNMIX_DEFAULTS } from '../lib/ssl/unmix';
import { Trainer } from '../lib/train/trainer';
import { device } from './helpers';
import { ToyMethod } from './support/toy-method';
import { toySetup } from './support/toy-setup';
import { NO_TENSORBOARD, tensorboardPython } from './support/tensorboard-python';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-tb-'));

interface ReadBack {
  scalars: Record<string, [number, number][]>;
  images: Record<string, { step: number; width: number; height: number; png: string }[]>;
}
const readBack = (dir: string): ReadBack =>
  JSON.parse(
    execFileSync(tensorboardPython!, [path.join(__dirname, 'fixtures', 'read_tensorboard.py'), dir], {
      encoding: 'utf8',
    }),
  );
const withTensorboard = tensorboardPython
  ? test
  : (name: string, fn: () => Promise<void>) => test.skip(`${name} (${NO_TENSORBOARD})`, fn);

test('TFRecord framing: CRC32C of the standard check string, masked; records read back with checksums verified', () => {
  // CRC32C("123456789") is 0xE3069283 (RFC 3720); the mask rotates right by 15 and adds 0xa282ead8
  const crc = 0xe3069283;
  expect(maskedCrc32c(Buffer.from('123456789'))).toBe((((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0);
  const file = Buffer.concat([tfRecord(Buffer.from('abc')), tfRecord(Buffer.alloc(0))]);
  expect(readTfRecords(file).map((r) => r.toString())).toEqual(['abc', '']);
  const bad = Buffer.from(file);
  bad[13] ^= 1;
  expect(() => readTfRecords(bad)).toThrow('TFRecord: bad data checksum at byte 0');
  expect(() => readTfRecords(file.subarray(0, 10))).toThrow('TFRecord: truncated header at byte 0');
});

test('SummaryWriter: a file_version event, then scalars and images with their tags and steps', () => {
  const dir = tmp();
  const w = new u.SummaryWriter(dir);
  w.addScalar('loss', 0.25, 3);
  w.addImage('grid', { png: Buffer.from([1, 2, 3]), width: 4, height: 5 }, 7);
  w.close();
  const events = readTfRecords(fs.readFileSync(w.file)).map(decodeEvent);
  expect(events[0].file_version).toBe('brain.Event:2');
  expect(events.slice(1).map((e) => e.step)).toEqual([3, 7]);
  expect(events[1].summary!.value[0]).toEqual({ tag: 'loss', simple_value: 0.25 });
  expect(events[2].summary!.value[0]).toMatchObject({ tag: 'grid', image: { width: 4, height: 5, colorspace: 3 } });
  expect(() => w.addScalar('late', 1, 0)).toThrow(/is closed/);
  expect(() => new u.SummaryWriter(dir).addScalar('x', 1, -1)).toThrow(
    'SummaryWriter: step must be a non-negative integer, got -1',
  );
  expect(
    () =>
      new Trainer({
        ...toySetup(device),
        lr: () => 0.05,
        epochs: 1,
        resultsDir: dir,
        tensorboard: '' as unknown as string,
      }),
  ).toThrow('Trainer: tensorboard must be a boolean or a folder, got ""');
});

/** The toy method with Un-Mix options, as the real methods expose them (the picture then shows mixtures). */
class ToyUnmix extends ToyMethod {
  readonly options = { unmix: UNMIX_DEFAULTS };
}

withTensorboard(
  `the trainer's event files read back with TensorBoard's EventAccumulator${tensorboardPython ? ` (${tensorboardPython})` : ''}: tags, steps, values, the first batch's picture`,
  async () => {
    const dir = tmp();
    const setup = toySetup(device);
    const method = new ToyUnmix(3 * 8 * 8).to(device);
    const optimizer = new u.SGD(method.trainableParameters(), { lr: 0.05, momentum: 0.9 });
    const lr = ({ epoch }: { epoch: number }) => 0.05 / (epoch + 1);
    const trainer = new Trainer({
      ...setup,
      method,
      optimizer,
      lr,
      epochs: 2,
      resultsDir: dir,
      seed: 3,
      progress: false,
      log: () => undefined,
      tensorboard: true,
      evaluate: async (e) => 40 + e,
      evaluateFirst: true,
    });
    const { history } = await trainer.run();
    const got = readBack(path.join(dir, 'tensorboard'));
    console.log(
      `TensorBoard EventAccumulator read back ${path.join(dir, 'tensorboard')}:\n` +
        Object.entries(got.scalars)
          .map(
            ([t, v]) =>
              `  ${t}: ${v.length} points, steps ${v[0][0]}..${v[v.length - 1][0]}, first ${v[0][1]}, last ${v[v.length - 1][1]}`,
          )
          .join('\n') +
        '\n' +
        Object.entries(got.images)
          .map(([t, v]) => `  ${t}: ${v.map((i) => `step ${i.step}, ${i.width}×${i.height} PNG`).join('; ')}`)
          .join('\n'),
    );

    const iters = setup.loader.length; // 6 batches of 8
    expect(Object.keys(got.scalars).sort()).toEqual([
      'epoch/images_per_s',
      'epoch/lr',
      'epoch/test_acc@1',
      'epoch/train_loss',
      'train/loss',
      'train/lr',
      'train/terms/clean',
      'train/terms/lam',
    ]);
    const steps = Array.from({ length: 2 * iters }, (_, i) => i);
    for (const tag of ['train/loss', 'train/lr', 'train/terms/lam', 'train/terms/clean'])
      expect(got.scalars[tag].map(([s]) => s)).toEqual(steps);
    // simple_value is a float32
    expect(got.scalars['train/lr'].map(([, v]) => v)).toEqual(
      steps.map((s) => Math.fround(lr({ epoch: Math.floor(s / iters) }))),
    );
    const trained = history.filter((r) => r.epoch > 0);
    expect(got.scalars['epoch/train_loss']).toEqual(trained.map((r) => [r.epoch, Math.fround(r.train_loss!)]));
    expect(got.scalars['epoch/test_acc@1']).toEqual([
      [0, 40],
      [1, 41],
      [2, 42],
    ]);
    // the epoch loss is the mean of its steps' losses (equal batches)
    trained.forEach((r, e) => {
      const losses = got.scalars['train/loss'].slice(e * iters, (e + 1) * iters).map(([, v]) => v);
      expect(losses.reduce((a, b) => a + b) / iters).toBeCloseTo(r.train_loss!, 5);
    });

    const [image] = got.images['train/views_and_mixtures'];
    expect(got.images['train/views_and_mixtures']).toHaveLength(1);
    expect(image.step).toBe(0);
    const png = Buffer.from(image.png, 'base64');
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([image.width, image.height]);
    // 8 columns of 8·2 + 2; rows: view 1, view 2, partner, global, region (each with a caption strip)
    expect([image.width, image.height]).toEqual([2 + 8 * 18, 2 + 5 * (18 + 14)]);
    // the first batch again (a pure function of seed, epoch, batch): the picture's view 2 cell pixel is its pixel
    const batch = (await setup.loader.epoch(0).next()).value!;
    const norm = u.normalizationOf(setup.loader.viewSpecs[0].pipeline)!;
    const v2 = batch.views[1].to('cpu').data() as Float32Array;
    const [i, y, x] = [3, 5, 6];
    const expected = [0, 1, 2].map((c) =>
      Math.min(
        255,
        Math.max(0, Math.floor((v2[((i * 3 + c) * 8 + y) * 8 + x] * norm.std[c] + norm.mean[c]) * 255 + 0.5)),
      ),
    );
    const at = (px: number, py: number) =>
      Array.from(data.subarray((py * info.width + px) * 3, (py * info.width + px) * 3 + 3));
    expect(at(2 + i * 18 + 2 * x, 2 + 32 + 2 * y)).toEqual(expected);
    batch.dispose();
  },
);
