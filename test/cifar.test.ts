// CIFAR binary readers, on files the test writes in exactly the official layouts.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tar from 'tar';
import * as u from '../lib';
import { device } from './helpers';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-cifar-'));

/** Writes records (labels..., 3072 pixels) and returns what they hold. */
function writeBatch(file: string, count: number, labelBytes: 1 | 2, seed: number) {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2147483648), s);
  const buf = Buffer.alloc(count * (labelBytes + 3072));
  const labels: number[][] = [];
  for (let r = 0; r < count; r++) {
    const o = r * (labelBytes + 3072);
    const l = labelBytes === 1 ? [next() % 10] : [next() % 20, next() % 100];
    l.forEach((v, k) => (buf[o + k] = v));
    for (let p = 0; p < 3072; p++) buf[o + labelBytes + p] = next() % 256;
    labels.push(l);
  }
  fs.writeFileSync(file, buf);
  return { buf, labels };
}

function cifar10(dir: string) {
  const folder = path.join(dir, 'cifar-10-batches-bin');
  fs.mkdirSync(folder, { recursive: true });
  const train = [1, 2, 3, 4, 5].map((i) => writeBatch(path.join(folder, `data_batch_${i}.bin`), 3, 1, i));
  const test = writeBatch(path.join(folder, 'test_batch.bin'), 4, 1, 99);
  fs.writeFileSync(
    path.join(folder, 'batches.meta.txt'),
    'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n',
  );
  return { folder, train, test };
}

test('CIFAR-10 from the extracted folder: pixels exact, labels and class names', () => {
  const { folder, train, test: t } = cifar10(path.join(root, 'c10'));
  const split = u.loadCifar(path.join(root, 'c10'), { split: 'train', device });
  expect(split.variant).toBe(10);
  expect(split.images.shape).toEqual([15, 3, 32, 32]);
  expect(split.images.dtype).toBe('uint8');
  expect(split.labels.toArray()).toEqual(train.flatMap((b) => b.labels.map((l) => l[0])));
  // record 4 = batch 2, record 1; channel 2 (blue) row 5 col 7
  const expected = train[1].buf[1 * 3073 + 1 + 2 * 1024 + 5 * 32 + 7];
  expect(split.images.index(4, 2, 5, 7).item()).toBe(expected);
  expect(split.classes[9]).toBe('truck');
  const testSplit = u.loadCifar(folder, { split: 'test', device });
  expect(Array.from(testSplit.images.reshape(-1).data() as Uint8Array)).toEqual(
    Array.from({ length: 4 }, (_, r) => Array.from(t.buf.subarray(r * 3073 + 1, (r + 1) * 3073))).flat(),
  );
});

test('CIFAR-100 from the .tar.gz: fine and coarse labels', async () => {
  const dir = path.join(root, 'c100');
  const folder = path.join(dir, 'cifar-100-binary');
  fs.mkdirSync(folder, { recursive: true });
  const train = writeBatch(path.join(folder, 'train.bin'), 5, 2, 7);
  writeBatch(path.join(folder, 'test.bin'), 2, 2, 8);
  fs.writeFileSync(
    path.join(folder, 'coarse_label_names.txt'),
    Array.from({ length: 20 }, (_, i) => `super${i}`).join('\n'),
  );
  const archive = path.join(root, 'cifar-100-binary.tar.gz');
  await tar.c({ gzip: true, file: archive, cwd: dir }, ['cifar-100-binary']);
  const split = u.loadCifar(archive, { split: 'train', device });
  expect(split.variant).toBe(100);
  expect(split.labels.toArray()).toEqual(train.labels.map((l) => l[1]));
  expect(split.coarseLabels!.toArray()).toEqual(train.labels.map((l) => l[0]));
  expect(split.coarseClasses![3]).toBe('super3');
  expect(split.images.index(2, 0, 0, 0).item()).toBe(train.buf[2 * 3074 + 2]);
});

test('bad input gives clear errors', () => {
  const dir = path.join(root, 'bad');
  const { folder } = cifar10(dir);
  fs.truncateSync(path.join(folder, 'data_batch_3.bin'), 3073 * 2 + 100);
  expect(() => u.loadCifar(dir, { split: 'train' })).toThrow(
    /data_batch_3\.bin has 6246 bytes, not a whole number of 3073-byte records/,
  );
  fs.rmSync(path.join(folder, 'data_batch_3.bin'));
  expect(() => u.loadCifar(dir, { split: 'train' })).toThrow(/data_batch_3\.bin is missing/);
  const t = fs.readFileSync(path.join(folder, 'test_batch.bin'));
  t[0] = 42;
  fs.writeFileSync(path.join(folder, 'test_batch.bin'), t);
  expect(() => u.loadCifar(dir, { split: 'test' })).toThrow(/record 0 has label 42 \(expected < 10\)/);
  expect(() => u.loadCifar(path.join(root, 'nowhere'), { split: 'test' })).toThrow(/does not exist/);
  fs.mkdirSync(path.join(root, 'empty'));
  expect(() => u.loadCifar(path.join(root, 'empty'), { split: 'test' })).toThrow(/not a CIFAR binary folder/);
  fs.writeFileSync(path.join(root, 'junk.tar.gz'), 'junk');
  expect(() => u.loadCifar(path.join(root, 'junk.tar.gz'), { split: 'test' })).toThrow(/CIFAR: .*junk\.tar\.gz/);
});
