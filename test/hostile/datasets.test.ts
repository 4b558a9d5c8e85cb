// Hostile datasets and folders (issue 13, items 2, 5, 7, 8): decoding only what a dataset
// claims, in bounded memory; links that loop and members outside an archive are left out and
// listed; FIFOs and /proc answer at once.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import * as tar from 'tar';
import { unzipSync } from 'fflate';
import * as u from '../../lib';
import { describeDataset } from '../../lib/data/describe';
import { decodeRgb } from '../../lib/data/decode';
import { decodeFileName, fsPath } from '../../lib/io/file-names';
import { Trainer } from '../../lib/train/trainer';
import { toySetup } from '../support/toy-setup';
import { runCli, runScript, tempDir, zipDeflated } from './helpers';

let dir: string;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(zlib.crc32(body), 8 + data.length);
  return out;
}

/** A PNG whose header claims width×height (its pixel data is one empty row: never reached). */
function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(1 + width * 3))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function smallPng(): Promise<Buffer> {
  const sharp = (await import('sharp')).default;
  return sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 200, g: 10, b: 10 } } })
    .png()
    .toBuffer();
}

test('a PNG claiming 16000×16000 is refused before decoding; an SVG named .png is not decoded', async () => {
  await expect(decodeRgb(pngClaiming(16000, 16000), 'big.png')).rejects.toThrow(
    "big.png: cannot decode image: 16000×16000 is more than 89478485 pixels (PIL's decompression-bomb limit)",
  );
  const svg = Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" width="16000" height="16000"><rect width="16000" height="16000"/></svg>',
  );
  await expect(decodeRgb(svg, 'svg.png')).rejects.toThrow(
    'svg.png: cannot decode image: Input buffer contains unsupported image format',
  );
  expect((await decodeRgb(await smallPng(), 'ok.png')).width).toBe(4);
});

test('unmix dataset on four 16000×16000 PNGs answers in bounded memory, naming a file', async () => {
  const root = path.join(dir, 'bombs');
  fs.mkdirSync(path.join(root, 'a'), { recursive: true });
  for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(root, 'a', `${i}.png`), pngClaiming(16000, 16000));
  const r = runCli(['dataset', root, '--json', '--no-cache']);
  expect(r.signal).toBeNull();
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(
    /unmix: .*bombs\/a\/[0-3]\.png: cannot decode image: 16000×16000 is more than 89478485 pixels/,
  );
  expect(r.maxRssMB).toBeLessThan(1000);
}, 60000);

test('a torch.save zip with an unused 400 MiB entry loads without inflating it', () => {
  const good = path.join(dir, 'good.pt');
  u.saveTorchStateDict(good, { w: u.ones([4]) });
  const entries = unzipSync(fs.readFileSync(good));
  const prefix = Object.keys(entries)[0].split('/')[0];
  const bomb = path.join(dir, 'bomb.pt');
  fs.writeFileSync(bomb, zipDeflated({ ...entries, [`${prefix}/data/unused`]: new Uint8Array(400 * 1024 * 1024) }));
  expect(fs.statSync(bomb).size).toBeLessThan(4 * 1024 * 1024);
  const load = (file: string) =>
    runScript(`console.log(Object.keys(u.importTorchStateDict(${JSON.stringify(file)})).join(','))`);
  const base = load(good);
  const r = load(bomb);
  expect(r.status).toBe(0);
  expect(r.stdout.trim()).toBe('w');
  expect(r.maxRssMB! - base.maxRssMB!).toBeLessThan(100);
}, 60000);

test('a torch.save zip whose storage entry declares more bytes than its tensor needs is refused before inflating it', () => {
  const good = path.join(dir, 'good-oversized.pt');
  u.saveTorchStateDict(good, { w: u.ones([4]) });
  const entries = unzipSync(fs.readFileSync(good));
  const storage = Object.keys(entries).find((n) => /\/data\/\d+$/.test(n))!;
  const bomb = path.join(dir, 'oversized.pt');
  fs.writeFileSync(bomb, zipDeflated({ ...entries, [storage]: new Uint8Array(300 * 1024 * 1024) }));
  expect(fs.statSync(bomb).size).toBeLessThan(4 * 1024 * 1024);
  const r = runScript(`u.importTorchStateDict(${JSON.stringify(bomb)})`);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(
    /oversized\.pt: storage \S+ declares 314572800 bytes, its 4 float32 elements need 16: refused/,
  );
  expect(r.maxRssMB).toBeLessThan(1000);
}, 60000);

test('a looping symlink is left out and listed; an absolute tar member is not a split', async () => {
  const root = path.join(dir, 'links');
  fs.mkdirSync(path.join(root, 'train', 'a'), { recursive: true });
  fs.writeFileSync(path.join(root, 'train', 'a', 'ok.png'), await smallPng());
  fs.symlinkSync('loop.png', path.join(root, 'train', 'a', 'loop.png'));
  const { description, details } = await describeDataset(root, { cacheDir: false });
  expect(description.splits.train.images).toBe(1);
  expect(details.warnings).toContain(
    `left out ${path.join(root, 'train', 'a', 'loop.png')}: a symbolic link that loops`,
  );

  fs.rmSync(path.join(root, 'train', 'a', 'loop.png'));
  const archive = path.join(dir, 'abs.tar');
  const outside = path.join(dir, 'outside', 'b');
  fs.mkdirSync(outside, { recursive: true });
  fs.writeFileSync(path.join(outside, 'x.png'), await smallPng());
  tar.c({ file: archive, cwd: root, sync: true, preservePaths: true }, ['train', path.join(outside, 'x.png')]);
  const t = await describeDataset(archive, { cacheDir: false });
  expect(Object.keys(t.description.splits)).toEqual(['train']);
  expect(t.details.warnings).toContain(
    `left out ${archive}:${path.join(outside, 'x.png')}: a member outside the archive's folder (absolute or ..)`,
  );
});

test('a tar whose members point outside (absolute, ..) writes nothing outside: describing and opening it touch only the cache', async () => {
  const root = path.join(dir, 'escape', 'root');
  fs.mkdirSync(path.join(root, 'train', 'a'), { recursive: true });
  fs.writeFileSync(path.join(root, 'train', 'a', 'ok.png'), await smallPng());
  const absolute = path.join(dir, 'escape', 'abs-target', 'x.png');
  const dotdot = path.join(dir, 'escape', 'up.png');
  fs.mkdirSync(path.dirname(absolute), { recursive: true });
  fs.writeFileSync(absolute, await smallPng());
  fs.writeFileSync(dotdot, await smallPng());
  const archive = path.join(dir, 'escape', 'escape.tar');
  tar.c({ file: archive, cwd: root, sync: true, preservePaths: true }, ['train', absolute, '../up.png']);
  // the targets are gone: anything that extracted or wrote through the members would recreate them
  fs.rmSync(path.dirname(absolute), { recursive: true });
  fs.rmSync(dotdot);
  const listing = () => fs.readdirSync(path.join(dir, 'escape'), { recursive: true }).map(String).sort();
  const before = listing();
  const cacheDir = path.join(dir, 'escape-cache');
  await describeDataset(archive, { cacheDir });
  const set = await u.openDataset(archive, { split: 'train', cacheDir });
  expect(u.imageCount(set)).toBe(1);
  expect(fs.existsSync(absolute)).toBe(false);
  expect(fs.existsSync(dotdot)).toBe(false);
  expect(listing()).toEqual(before);
});

test('unmix dataset of a FIFO answers at once; a results folder under /proc is an error naming it', async () => {
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const r = runCli(['dataset', fifo], { timeoutMs: 30000 });
  expect(r.signal).toBeNull();
  expect(r.stderr).toContain(`${fifo} is neither a folder nor a regular file (a FIFO)`);
  const t = new Trainer({
    ...toySetup(),
    lr: () => 0.05,
    epochs: 1,
    resultsDir: '/proc/unmix-results/run',
    progress: false,
    log: () => undefined,
  });
  await expect(t.run()).rejects.toThrow(
    'Trainer: resultsDir: ENOENT: cannot create the folder /proc/unmix-results: its file system does not allow new folders in /proc',
  );
}, 60000);

// A read-only file system needs a mount: a private mount namespace (as root; CI runs as root).
const canMount = spawnSync('unshare', ['-m', 'true']).status === 0;
(canMount ? test : test.skip)(
  `a results folder on a read-only file system is an error saying so, not ENOENT${canMount ? '' : ' (skipped: unshare -m is not permitted here)'}`,
  () => {
    const ro = path.join(dir, 'read-only');
    fs.mkdirSync(ro);
    const script = path.join(dir, 'read-only-run.ts');
    fs.writeFileSync(
      script,
      `import { Trainer } from ${JSON.stringify(path.join(__dirname, '..', '..', 'lib', 'train', 'trainer'))};
import { toySetup } from ${JSON.stringify(path.join(__dirname, '..', 'support', 'toy-setup'))};
new Trainer({ ...toySetup(), lr: () => 0.05, epochs: 1, resultsDir: ${JSON.stringify(path.join(ro, 'a', 'run'))}, progress: false, log: () => undefined })
  .run().then(() => console.log('trained'), (e) => console.log(e.message));`,
    );
    const r = spawnSync(
      'unshare',
      ['-m', 'sh', '-c', `mount -t tmpfs -o ro tmpfs '${ro}' && exec '${process.execPath}' --import tsx '${script}'`],
      { encoding: 'utf8', timeout: 60000 },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(
      `Trainer: resultsDir: EROFS: cannot create the folder ${path.join(ro, 'a')}: the file system is read-only`,
    );
  },
  60000,
);

test('files and class folders whose names are not UTF-8 are listed, counted and decoded', async () => {
  const root = path.join(dir, 'names');
  const bytes = (...parts: (string | number[])[]) =>
    Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
  const png = await smallPng();
  fs.mkdirSync(path.join(root, 'train', 'a'), { recursive: true });
  fs.writeFileSync(path.join(root, 'train', 'a', 'ok.png'), png);
  // train/a/f\xff.png and train/a/f\xfe.png (both read as 'f\ufffd.png' by a UTF-8 listing), train/b\xe9/x.png
  fs.writeFileSync(bytes(root, '/train/a/f', [0xff], '.png'), png);
  fs.writeFileSync(bytes(root, '/train/a/f', [0xfe], '.png'), png);
  fs.mkdirSync(bytes(root, '/train/b', [0xe9]));
  fs.writeFileSync(bytes(root, '/train/b', [0xe9], '/x.png'), png);

  const set = await u.openDataset(root, { split: 'train', cacheDir: path.join(dir, 'names-cache') });
  expect(set.kind).toBe('tensor');
  if (set.kind === 'tensor') expect(set.images.shape).toEqual([4, 3, 4, 4]);
  expect(set.classes).toEqual(['a', 'b\udce9']);
  const encoded = u.openImageFolder(root, { split: 'train' });
  // sorted as Python sorts os.fsdecode's names: f\xfe, f\xff, ok; then b\xe9/x
  expect(encoded.source(0)).toBe(path.join(root, 'train', 'a', 'f\udcfe.png'));
  expect(encoded.source(1)).toBe(path.join(root, 'train', 'a', 'f\udcff.png'));
  expect((await decodeRgb(await encoded.read(1), encoded.source(1))).width).toBe(4);
  expect((await decodeRgb(await encoded.read(3), encoded.source(3))).width).toBe(4);
  const { description } = await describeDataset(root, { cacheDir: false });
  expect(description.splits.train.images).toBe(4);
  // the cache knows these files by their sizes and mtimes too: a change to one makes it stale
  const cacheDir = path.join(dir, 'names-cache');
  expect((await u.loadImageFolder(root, { split: 'train', cacheDir })).cache.status).toBe('hit');
  fs.appendFileSync(bytes(root, '/train/a/f', [0xff], '.png'), Buffer.alloc(1));
  expect((await u.loadImageFolder(root, { split: 'train', cacheDir })).cache.status).toBe('stale');
  // names round-trip: any bytes, read as a string, give back the same bytes
  const rng = new u.Rng(7);
  for (let k = 0; k < 2000; k++) {
    const name = Buffer.from(Array.from({ length: 1 + (k % 9) }, () => rng.nextUint32() & 255));
    expect(Buffer.from(fsPath(decodeFileName(name)))).toEqual(name);
  }
});
