// An ImageNet-sized folder (issue 13, item 3), scaled down: 5,000 small JPEG and PNG files whose
// decoded images are over a tight memory budget open as an index (nothing decoded), in seconds and
// bounded memory, and train with per-batch decoding. The files are copies of two encoded images,
// so the folder is written in a moment.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { runScript, tempDir } from './helpers';

const CLASSES = 10;
const PER_CLASS = 500;

let dir: string;
beforeAll(async () => {
  dir = tempDir();
  const pixels = Buffer.alloc(160 * 120 * 3, 77);
  const raw = { raw: { width: 160, height: 120, channels: 3 as const } };
  const images = [await sharp(pixels, raw).jpeg().toBuffer(), await sharp(pixels, raw).png().toBuffer()];
  for (let c = 0; c < CLASSES; c++) {
    const folder = path.join(dir, 'train', `n${String(c).padStart(8, '0')}`);
    fs.mkdirSync(folder, { recursive: true });
    for (let i = 0; i < PER_CLASS; i++)
      fs.writeFileSync(path.join(folder, `${i}.${i % 2 ? 'png' : 'jpeg'}`), images[i % 2]);
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// 5,000 × 160×120 × 3 = 288 MB decoded (twice that while laid out as a tensor), over a 64 MiB budget
const OPEN_AND_BATCH = (root: string) => `
void (async () => {
process.env.UNMIX_DATASET_BUDGET = String(64 * 1024 * 1024);
const t0 = Date.now();
const set = await u.openDataset(${JSON.stringify(root)}, { split: 'train', cacheDir: false });
const openMs = Date.now() - t0;
const loader = new u.Loader(set, { batchSize: 16, views: u.presets.mocoCifar({ size: 32 }), seed: 0 });
for await (const batch of loader.epoch(0)) {
  console.log(JSON.stringify({ kind: set.kind, n: u.imageCount(set), openMs, shapes: batch.views.map((v) => v.shape), labels: batch.labels.shape }));
  batch.dispose();
  break;
}
})();
`;

test('5,000 images over the memory budget open as an encoded set in seconds and bounded memory; a Loader batch has the right shape', () => {
  const base = runScript("void u.openDataset('synthetic', { split: 'test', synthetic: { perClass: 1 } });");
  const r = runScript(OPEN_AND_BATCH(dir), { timeoutMs: 60000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout.trim());
  expect(out).toMatchObject({
    kind: 'encoded',
    n: CLASSES * PER_CLASS,
    shapes: [
      [16, 3, 32, 32],
      [16, 3, 32, 32],
    ],
    labels: [16],
  });
  expect(out.openMs).toBeLessThan(5000);
  expect(r.maxRssMB! - base.maxRssMB!).toBeLessThan(100);
}, 90000);
