// Pictures: image grids (size, PNG that decodes, a grid pixel equal to its source pixel with the
// normalisation undone), Un-Mix pictures, nearest-neighbour grids, charts and `unmix plot`.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import * as u from '../lib';
import { device } from './helpers';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-viz-'));

/** The PNG decoded to RGB: size and a pixel reader. */
async function decode(png: Buffer) {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    channels: info.channels,
    at: (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)),
  };
}

/** What save_image makes of a value in [0, 1]. */
const byte = (v: number) => Math.min(255, Math.max(0, Math.floor(v * 255 + 0.5)));

describe('imageGrid', () => {
  const mean = [0.4914, 0.4822, 0.4465];
  const std = [0.2023, 0.1994, 0.201];

  test('size, PNG that decodes, and every cell pixel equal to its source pixel with the normalisation undone', async () => {
    u.manualSeed(1);
    const images = u.randn([5, 3, 4, 6], { device });
    const grid = await u.imageGrid(images, { columns: 3, padding: 2, scale: 2, normalization: { mean, std } });
    // 3 columns of (6·2 + 2) plus the outer padding; 2 rows of (4·2 + 2) plus padding
    expect([grid.width, grid.height]).toEqual([44, 22]);
    const png = await decode(grid.png);
    expect([png.width, png.height, png.channels]).toEqual([44, 22, 3]);
    const src = images.to('cpu').data() as Float32Array;
    const value = (i: number, c: number, y: number, x: number) =>
      byte(src[((i * 3 + c) * 4 + y) * 6 + x] * std[c] + mean[c]);
    for (const [i, y, x] of [
      [0, 0, 0],
      [4, 3, 5],
      [2, 1, 4],
      [3, 2, 0],
    ]) {
      const left = 2 + (i % 3) * 14;
      const top = 2 + Math.floor(i / 3) * 10;
      const expected = [0, 1, 2].map((c) => value(i, c, y, x));
      // both pixels of the 2×2 upscaled block
      expect(png.at(left + 2 * x, top + 2 * y)).toEqual(expected);
      expect(png.at(left + 2 * x + 1, top + 2 * y + 1)).toEqual(expected);
    }
    expect(png.at(0, 0)).toEqual([255, 255, 255]); // padding
    expect(png.at(43, 21)).toEqual([255, 255, 255]); // the empty sixth cell
  });

  test('uint8 and one-channel images pass through unchanged', async () => {
    const images = u.tensor(
      Uint8Array.from({ length: 2 * 1 * 3 * 3 }, (_, i) => i * 13),
      { shape: [2, 1, 3, 3] },
    );
    const grid = await u.imageGrid(images, { padding: 1 });
    expect([grid.width, grid.height]).toEqual([9, 5]);
    const png = await decode(grid.png);
    expect(png.at(1 + 4 + 2, 1 + 1)).toEqual([(9 + 5) * 13, (9 + 5) * 13, (9 + 5) * 13]); // image 1, row 1, column 2
  });

  test('captions add a strip under each row; frames and box outlines take their colours', async () => {
    const images = u.full([2, 3, 8, 8], 0.5);
    const grid = await u.imageGrid(images, {
      padding: 2,
      captions: ['a', 'b'],
      frames: [[0, 255, 0], null],
      boxes: [null, [2, 2, 6, 6]],
    });
    expect([grid.width, grid.height]).toEqual([2 + 2 * 10, 2 + 8 + 2 + 14]);
    const png = await decode(grid.png);
    expect(png.at(1, 5)).toEqual([0, 255, 0]); // the frame in the padding left of image 0
    expect(png.at(10, 5)).toEqual([0, 255, 0]); // and right of it
    expect(png.at(11, 5)).toEqual([255, 255, 255]); // no frame around image 1
    expect(png.at(12 + 2, 2 + 2)).toEqual([255, 0, 0]); // the box's top-left corner in image 1
    expect(png.at(12 + 4, 2 + 4)).toEqual([128, 128, 128]); // inside the box: the image
  });

  test('bad input gets a clear error', async () => {
    await expect(u.imageGrid(u.zeros([3, 8, 8]))).rejects.toThrow(
      'imageGrid: images must be a tensor [N, C, H, W] with C 1 or 3, got shape [3, 8, 8]',
    );
    await expect(u.imageGrid(u.zeros([2, 3, 4, 4]), { columns: 0 })).rejects.toThrow(
      'imageGrid: columns must be a positive integer, got 0',
    );
    await expect(u.imageGrid(u.zeros([2, 3, 4, 4]), { captions: ['x'] })).rejects.toThrow(
      'imageGrid: captions must list one entry per image (2), got 1',
    );
    await expect(u.imageGrid(u.zeros([2, 3, 4, 4]), { normalization: { mean: [0], std: [1] } })).rejects.toThrow(
      'imageGrid: normalization needs 3 means and stds, got 1 and 1',
    );
  });
});

test('denormalize undoes the loader normalisation per channel', () => {
  const x = u.tensor([[[[1]], [[0]], [[-1]]]], { dtype: 'float32' });
  const back = u.denormalize(x, { mean: [0.5, 0.4, 0.3], std: [0.1, 0.2, 0.3] });
  expect(Array.from(back.data() as Float32Array).map((v) => +v.toFixed(6))).toEqual([0.6, 0.4, 0]);
  expect(() => u.denormalize(x, { mean: [0], std: [1] })).toThrow('denormalize: needs 3 means and stds, got 1 and 1');
});

test('normalizationOf finds the pipeline normalisation the loader applies', () => {
  expect(u.normalizationOf(u.presets.mocoCifar()[0].pipeline)).toEqual({
    mean: u.presets.CIFAR_MEAN,
    std: u.presets.CIFAR_STD,
  });
  expect(u.normalizationOf([{ op: 'horizontalFlip' }])).toBeUndefined();
});

test('unmixPicture: rows of views, partners and both mixtures; mixture pixels are what Un-Mix makes', async () => {
  u.manualSeed(2);
  const n = 6;
  const x1 = u.rand([n, 3, 8, 8]);
  const x2 = u.rand([n, 3, 8, 8]);
  const pic = await u.unmixPicture([x1, x2], { count: 4, scale: 1, rng: new u.Rng(7) });
  // 5 rows (view 1, view 2, partner, global, region) of 4 cells, each with a caption strip
  expect([pic.width, pic.height]).toEqual([2 + 4 * 10, 2 + 5 * (10 + 14)]);
  expect(pic.regionLam).toBeCloseTo(u.boxLam(pic.box, 8, 8), 12);
  const png = await decode(pic.png);
  const src = x1.data() as Float32Array;
  const px = (i: number, c: number, y: number, x: number) => src[((i * 3 + c) * 8 + y) * 8 + x];
  const cell = (row: number, i: number, y: number, x: number) => png.at(2 + i * 10 + x, 2 + row * 24 + y);
  const [i, y, x] = [1, 3, 5];
  // the partner of image i is image n-1-i of the whole batch
  expect(cell(2, i, y, x)).toEqual([0, 1, 2].map((c) => byte(px(n - 1 - i, c, y, x))));
  const lam = pic.globalLam;
  const global = cell(3, i, y, x);
  [0, 1, 2].forEach((c) =>
    expect(Math.abs(global[c] - byte(lam * px(i, c, y, x) + (1 - lam) * px(n - 1 - i, c, y, x)))).toBeLessThanOrEqual(
      1,
    ),
  );
  // region: inside the box (away from its outline) the partner's pixel, outside the own one
  const [a1, b1, a2, b2] = pic.box;
  if (a2 - a1 > 2 && b2 - b1 > 2)
    expect(cell(4, i, a1 + 1, b1 + 1)).toEqual([0, 1, 2].map((c) => byte(px(n - 1 - i, c, a1 + 1, b1 + 1))));
  const [oy, ox] = [
    [0, 0],
    [0, 7],
    [7, 0],
    [7, 7],
  ].find(([yy, xx]) => !(a1 <= yy && yy < a2 && b1 <= xx && xx < b2))!;
  expect(cell(4, i, oy, ox)).toEqual([0, 1, 2].map((c) => byte(px(i, c, oy, ox))));
});

test('neighbourGrid: the most similar bank images, in order, framed by whether the class matches', async () => {
  // bank features: image j points along axis j % 4, scaled; queries along axes 1 and 2
  const bank = u.rand([8, 3, 4, 4]);
  const axis = (j: number, w = 1) =>
    Array.from({ length: 4 }, (_, d) => (d === j % 4 ? w : d === (j + 1) % 4 ? 0.1 * j : 0));
  const bankFeatures = u.tensor(Array.from({ length: 8 }, (_, j) => axis(j)));
  const queries = u.rand([2, 3, 4, 4]);
  const queryFeatures = u.tensor([axis(1), axis(2)]);
  const bankLabels = [0, 1, 2, 3, 0, 0, 2, 3];
  const grid = await u.neighbourGrid({
    queries,
    queryFeatures,
    bank,
    bankFeatures,
    k: 2,
    queryLabels: [1, 2],
    bankLabels,
    classNames: ['a', 'b', 'c', 'd'],
    scale: 1,
  });
  expect(grid.indices).toEqual([
    [1, 5],
    [2, 6],
  ]);
  expect(grid.similarities[0][0]).toBeGreaterThan(grid.similarities[0][1]);
  // padding 5: cells 4 + 5 wide, rows 4 + 5 + 14 (caption) high
  expect([grid.width, grid.height]).toEqual([5 + 3 * 9, 5 + 2 * (9 + 14)]);
  const png = await decode(grid.png);
  const b = bank.data() as Float32Array;
  // row 1, cell 2 is bank image 6; its pixel (row 2, column 1)
  expect(png.at(5 + 2 * 9 + 1, 5 + 23 + 2)).toEqual([0, 1, 2].map((c) => byte(b[((6 * 3 + c) * 4 + 2) * 4 + 1])));
  expect(png.at(5 + 9 - 1, 6)).toEqual([40, 170, 60]); // neighbour 1 of query 0 (class b = b): green frame, 2 px
  expect(png.at(5 + 18 - 1, 6)).toEqual([220, 40, 40]); // neighbour 5 (class a ≠ b): red
  expect(png.at(5 + 18 - 3, 6)).toEqual([255, 255, 255]); // a gap between the frames
  await expect(u.neighbourGrid({ queries, queryFeatures, bank, bankFeatures, k: 9 })).rejects.toThrow(
    'neighbourGrid: k must be an integer in [1, 8] (the bank size), got 9',
  );
});

describe('charts', () => {
  const history = (slope: number) =>
    [0, 1, 2, 3].map((epoch) => ({
      epoch,
      train_loss: epoch ? 5 - slope * epoch : NaN,
      'test_acc@1': 20 + slope * epoch,
      lr: 0.06 / (epoch + 1),
    }));

  test('curvesSpec keeps the finite values of each run, per quantity', () => {
    const spec = u.curvesSpec([{ name: 'a', history: history(1) }]) as {
      data: { values: { quantity: string; epoch: number; value: number }[] };
    };
    const rows = spec.data.values;
    expect(rows.filter((r) => r.quantity === 'train_loss').map((r) => [r.epoch, r.value])).toEqual([
      [1, 4],
      [2, 3],
      [3, 2],
    ]);
    expect(rows.filter((r) => r.quantity === 'test_acc@1').map((r) => r.epoch)).toEqual([0, 1, 2, 3]);
    expect(() => u.curvesSpec([])).toThrow('curves: runs must be a non-empty list of {name, history}, got none');
  });

  test('curvesChart and lineChart render PNGs that decode, at the asked scale', async () => {
    const one = await u.curvesChart([{ name: 'a', history: history(1) }], { scale: 1 });
    const png = await decode(one.png);
    expect([png.width, png.height]).toEqual([one.width, one.height]);
    expect(one.width).toBeGreaterThan(3 * 240);
    const twice = await u.curvesChart([{ name: 'a', history: history(1) }], { scale: 2 });
    expect(Math.abs(twice.width - 2 * one.width)).toBeLessThanOrEqual(2);
    const two = await u.curvesChart(
      [
        { name: 'a', history: history(1) },
        { name: 'b', history: history(2) },
      ],
      { scale: 1 },
    );
    expect(two.height).toBeGreaterThan(one.height); // the legend of the runs below the panels
    const line = await u.lineChart(
      [
        {
          name: 's',
          points: [
            { x: 0, y: 1 },
            { x: 1, y: 3 },
          ],
        },
      ],
      { x: 'step', y: 'loss' },
    );
    expect((await decode(line.png)).width).toBe(line.width);
  });

  test('a chart asked for just as the idle worker is stopped is drawn by a new worker (epochs longer than the idle time)', async () => {
    const spec = u.lineChartSpec([
      {
        name: 's',
        points: [
          { x: 0, y: 1 },
          { x: 1, y: 2 },
        ],
      },
    ]);
    await u.vegaLiteSvg(spec);
    // the idle timer (5 s) was set before this resolved, so it fires first: the old worker is stopping
    await new Promise((resolve) => setTimeout(resolve, 5001));
    expect(await u.vegaLiteSvg(spec)).toMatch(/^<svg/);
  }, 30000);

  test('unmix plot overlays runs from their log.jsonl into one PNG', async () => {
    const root = tmp();
    for (const [name, slope] of [
      ['moco', 1],
      ['moco_unmix', 2],
    ] as const) {
      fs.mkdirSync(path.join(root, name));
      fs.writeFileSync(
        path.join(root, name, 'log.jsonl'),
        history(slope)
          .map((r) => JSON.stringify(r))
          .join('\n') + '\n',
      );
    }
    const out = path.join(root, 'both.png');
    const cli = path.join(__dirname, '..', 'lib', 'cli', 'unmix.ts');
    const stdout = execFileSync(
      process.execPath,
      ['--import', 'tsx', cli, 'plot', path.join(root, 'moco'), path.join(root, 'moco_unmix'), '-o', out],
      { encoding: 'utf8' },
    );
    expect(stdout).toMatch(/both\.png: 2 runs \(moco, moco_unmix\), \d+×\d+/);
    const png = await decode(fs.readFileSync(out));
    expect(png.width).toBeGreaterThan(6 * 240);
    expect(() =>
      execFileSync(process.execPath, ['--import', 'tsx', cli, 'plot', root], { encoding: 'utf8', stdio: 'pipe' }),
    ).toThrow(/has no log\.jsonl/);
  });
});
