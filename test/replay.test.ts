// ReplayLoader: batches recorded by the Python twins' BatchRecorder (bench/parity/common.py) come back
// exactly, in order, from any batch on; malformed or mismatched recordings are clear errors, checked
// before anything is allocated.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
import { ReplayLoader, TensorImageSet } from '../lib';
import { python, pythonHas } from './support/python';

const device = (process.env.UNMIX_TEST_DEVICE ?? 'cpu') as u.Device;
const N = 12;
const B = 4;
const VIEWS = [{ count: 2, pipeline: [] }];

function dataset(): TensorImageSet {
  return {
    kind: 'tensor',
    format: 'synthetic',
    split: 'train',
    images: u.zeros([N, 3, 2, 3], { dtype: 'uint8' }),
    labels: u.arange(0, N, 1, { dtype: 'int64' }).remainder(5),
    classes: ['a', 'b', 'c', 'd', 'e'],
  };
}

/** Pixel value of (epoch, batch, view, i) in the recordings below: exact in float32. */
const pixel = (e: number, b: number, v: number, i: number) => e * 1000 + b * 100 + v * 10 + i / 64 - 0.5;
/** Image order of an epoch: a rotation, so each epoch differs. */
const order = (e: number) => Array.from({ length: N }, (_, i) => (i + 5 * e) % N);

/** A recording of 2 epochs × 3 batches of B images × 2 views of [3, 2, 3], written by the Python recorder. */
function record(folder: string): void {
  const script = `
import sys, torch
sys.path.insert(0, 'bench/parity')
import common
r = common.BatchRecorder(sys.argv[1], 3)
for e in range(2):
    r.start_epoch(e)
    order = [(i + 5 * e) % ${N} for i in range(${N})]
    for b in range(3):
        views = [(e * 1000 + b * 100 + v * 10 + torch.arange(${B} * 18, dtype=torch.float32) / 64 - 0.5).view(${B}, 3, 2, 3) for v in range(2)]
        r.add(order[b * ${B}:(b + 1) * ${B}], views)
    r.end_epoch()
`;
  execFileSync(python, ['-c', script, folder], { cwd: path.join(__dirname, '..') });
}

async function collect(loader: ReplayLoader, epoch: number, startBatch = 0) {
  const out: { index: number; indices: number[]; labels: number[]; views: number[][] }[] = [];
  for await (const b of loader.epoch(epoch, { startBatch })) {
    expect(b.views.map((v) => v.shape)).toEqual([
      [B, 3, 2, 3],
      [B, 3, 2, 3],
    ]);
    expect(b.views[0].device).toBe(device);
    out.push({
      index: b.index,
      indices: [...b.indices],
      labels: Array.from(b.labels.to('cpu').data() as BigInt64Array, Number),
      views: b.views.map((v) => Array.from(v.to('cpu').data() as Float32Array)),
    });
    b.dispose();
  }
  return out;
}

const haveRecorder = pythonHas('torch, numpy, PIL');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-replay-'));

(haveRecorder ? describe : describe.skip)(
  `ReplayLoader reads what the twins record${haveRecorder ? '' : ` (skipped: ${python} lacks torch, numpy or PIL)`}`,
  () => {
    let folder: string;
    beforeAll(() => {
      folder = tmp();
      record(folder);
    });

    test('every batch of every epoch comes back exactly, with its images and labels', async () => {
      const loader = new ReplayLoader(dataset(), { batchSize: B, views: VIEWS, device }, folder);
      expect(loader.length).toBe(3);
      expect(loader.recorded).toEqual({ views: 2, batch: B, shape: [3, 2, 3], itersPerEpoch: 3, epochs: [0, 1] });
      for (const e of [0, 1]) {
        const got = await collect(loader, e);
        expect(got.map((g) => g.index)).toEqual([0, 1, 2]);
        got.forEach((g, b) => {
          const want = order(e).slice(b * B, (b + 1) * B);
          expect(g.indices).toEqual(want);
          expect(g.labels).toEqual(want.map((i) => i % 5));
          g.views.forEach((v, k) => expect(v).toEqual(Array.from({ length: B * 18 }, (_, i) => pixel(e, b, k, i))));
        });
      }
      // resume in the middle of an epoch
      const resumed = await collect(loader, 1, 2);
      expect(resumed.map((g) => g.index)).toEqual([2]);
      expect(resumed[0].views[1][0]).toBe(pixel(1, 2, 1, 0));
    });

    test("a run whose batch or views differ from the recording's is refused", () => {
      expect(() => new ReplayLoader(dataset(), { batchSize: 3, views: VIEWS }, folder)).toThrow(
        /holds batches of 4 images × 2 views; this run takes 3 × 2/,
      );
      expect(() => new ReplayLoader(dataset(), { batchSize: B, views: [{ count: 3, pipeline: [] }] }, folder)).toThrow(
        /this run takes 4 × 3/,
      );
    });

    test('an epoch that was not recorded is a clear error', async () => {
      const loader = new ReplayLoader(dataset(), { batchSize: B, views: VIEWS }, folder);
      await expect(collect(loader, 2)).rejects.toThrow(/epoch 2 is not in .* \(recorded: 0, 1\)/);
    });

    test('a truncated epoch file and images outside the dataset are refused, the process goes on', async () => {
      const cut = tmp();
      for (const f of fs.readdirSync(folder)) fs.copyFileSync(path.join(folder, f), path.join(cut, f));
      fs.truncateSync(path.join(cut, 'epoch-1.bin'), 1000);
      const loader = new ReplayLoader(dataset(), { batchSize: B, views: VIEWS }, cut);
      await expect(collect(loader, 1)).rejects.toThrow(/epoch-1.bin has 1000 bytes; 3 batches of 592 bytes are 1776/);
      // epoch 0 visits the images in order: its batch 2 is images 8 to 11, which a dataset of 8 lacks
      const small = {
        ...dataset(),
        images: u.zeros([8, 3, 2, 3], { dtype: 'uint8' }),
        labels: u.zeros([8], { dtype: 'int64' }),
      };
      const other = new ReplayLoader(small, { batchSize: B, views: VIEWS }, folder);
      await expect(collect(other, 0)).rejects.toThrow(/epoch-0.bin batch 2 names image 8 of 8/);
    });
  },
);

(haveRecorder ? test : test.skip)(
  `RecordingLoader writes what its Loader serves; ReplayLoader and the twins' replay_batches read it back${haveRecorder ? '' : ` (skipped: ${python} lacks torch, numpy or PIL)`}`,
  async () => {
    const folder = tmp();
    const images = u
      .arange(0, N * 3 * 8 * 8, 1)
      .remainder(251)
      .view(N, 3, 8, 8)
      .to('uint8');
    const set = { ...dataset(), images };
    const views = [{ count: 2, pipeline: u.presets.swavCifar({ size: 8 })[0].pipeline }];
    const loader = new u.RecordingLoader(set, { batchSize: B, views, seed: 3, device }, folder);
    const served: number[][][] = [];
    for (const e of [0, 1])
      for await (const b of loader.epoch(e)) {
        served.push(b.views.map((v) => Array.from(v.to('cpu').data() as Float32Array)));
        b.dispose();
      }
    expect(JSON.parse(fs.readFileSync(path.join(folder, 'batches.json'), 'utf8'))).toEqual({
      format: 'unmix-batches/1',
      views: 2,
      batch: B,
      shape: [3, 8, 8],
      itersPerEpoch: 3,
      epochs: [0, 1],
    });
    const replayed: number[][][] = [];
    const replay = new ReplayLoader(set, { batchSize: B, views, device }, folder);
    for (const e of [0, 1]) for (const g of await collectViews(replay, e)) replayed.push(g);
    expect(replayed).toEqual(served);
    // the twin's reader: the same numbers (float32 → Python float is exact)
    const script = `
import json, sys
sys.path.insert(0, 'bench/parity')
import common
print(json.dumps([[v.flatten().tolist() for v in b] for e in (0, 1) for b in common.replay_batches(sys.argv[1], e)]))
`;
    const fromPython = JSON.parse(
      execFileSync(python, ['-c', script, folder], { cwd: path.join(__dirname, '..'), maxBuffer: 1 << 26 }).toString(),
    );
    expect(fromPython).toEqual(served);
    // a resumed epoch is not recorded (the file would hold part of it)
    await expect(loader.epoch(0, { startBatch: 1 }).next()).rejects.toThrow(/records whole epochs/);
  },
);

async function collectViews(loader: ReplayLoader, epoch: number) {
  const out: number[][][] = [];
  for await (const b of loader.epoch(epoch)) {
    out.push(b.views.map((v) => Array.from(v.to('cpu').data() as Float32Array)));
    b.dispose();
  }
  return out;
}

test('a missing or malformed header is a clear error, before anything is read', () => {
  const folder = tmp();
  expect(() => new ReplayLoader(dataset(), { batchSize: B, views: VIEWS }, folder)).toThrow(
    /cannot read .*batches.json/,
  );
  const header = path.join(folder, 'batches.json');
  const bad = [
    '{not json',
    '[]',
    JSON.stringify({ format: 'unmix-batches/2', views: 2, batch: 4, shape: [3, 2, 3], itersPerEpoch: 3, epochs: [0] }),
    // sizes a hostile file could claim to make the reader allocate
    JSON.stringify({
      format: 'unmix-batches/1',
      views: 2,
      batch: 4,
      shape: [3, 1e9, 3],
      itersPerEpoch: 3,
      epochs: [0],
    }),
    JSON.stringify({
      format: 'unmix-batches/1',
      views: 2,
      batch: 4.5,
      shape: [3, 2, 3],
      itersPerEpoch: 3,
      epochs: [0],
    }),
    JSON.stringify({ format: 'unmix-batches/1', views: 2, batch: 4, shape: [3, 2], itersPerEpoch: 3, epochs: [0] }),
    JSON.stringify({ format: 'unmix-batches/1', views: 2, batch: 4, shape: [3, 2, 3], itersPerEpoch: 3, epochs: [-1] }),
  ];
  for (const text of bad) {
    fs.writeFileSync(header, text);
    expect(() => new ReplayLoader(dataset(), { batchSize: B, views: VIEWS }, folder)).toThrow(
      /ReplayLoader: .*batches.json/,
    );
  }
});
