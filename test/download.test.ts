// Downloads against a local HTTP server on 127.0.0.1 (never the internet): progress, resume after a
// cut connection, servers that ignore Range, checksum mismatches, HTTP errors, redirects, abort.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { Writable } from 'stream';
import { downloadCommand, progressReporter } from '../lib/cli/download';
import { CIFAR_ARCHIVES, DownloadProgress, downloadCifar, downloadFile } from '../lib/data/download';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-download-'));
const data = crypto.randomBytes(300_000);
const md5 = crypto.createHash('md5').update(data).digest('hex');
const sha256 = crypto.createHash('sha256').update(data).digest('hex');

interface Behaviour {
  /** cut the connection after this many body bytes on these request numbers (0-based) */
  cutAt?: number;
  cutRequests?: number[];
  ignoreRange?: boolean;
  body?: Buffer;
  status?: number;
  /** stop sending (without closing) after this many bytes */
  stallAt?: number;
}

/** A server for one test; `requests` records each request's path and Range header. */
async function serve(behaviour: Behaviour) {
  const requests: { url: string; range?: string }[] = [];
  const server = http.createServer((req, res) => {
    const n = requests.length;
    requests.push({ url: req.url ?? '', range: req.headers.range });
    if (req.url === '/moved') {
      res.writeHead(302, { location: '/file' });
      res.end();
      return;
    }
    if (behaviour.status) {
      res.writeHead(behaviour.status);
      res.end('no');
      return;
    }
    const body = behaviour.body ?? data;
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && !behaviour.ignoreRange) {
      start = Number(m[1]);
      res.writeHead(206, {
        'content-length': body.length - start,
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
      });
    } else {
      res.writeHead(200, { 'content-length': body.length });
    }
    const rest = body.subarray(start);
    const cut = behaviour.cutRequests?.includes(n) ? behaviour.cutAt : undefined;
    if (cut !== undefined) {
      res.write(rest.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
    } else if (behaviour.stallAt !== undefined) {
      res.write(rest.subarray(0, behaviour.stallAt)); // and never more
    } else {
      res.end(rest);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/file`,
    base: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const fast = { retryDelayMs: 10 };
let counter = 0;
const fresh = () => path.join(root, `case${counter++}`, 'file.bin');

test('downloads with progress callbacks, verifies md5 and sha256, and does not download a verified file again', async () => {
  const s = await serve({});
  try {
    const dest = fresh();
    const seen: DownloadProgress[] = [];
    expect(await downloadFile(s.url, dest, { md5, sha256, onProgress: (p) => seen.push(p) })).toBe(dest);
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
    expect(fs.existsSync(`${dest}.part`)).toBe(false);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.every((p) => p.total === data.length && p.resumedFrom === 0 && p.url === s.url)).toBe(true);
    expect(seen.every((p, i) => i === 0 || p.received >= seen[i - 1].received)).toBe(true);
    expect(seen[seen.length - 1].received).toBe(data.length);
    await downloadFile(s.url, dest, { md5 });
    expect(s.requests.length).toBe(1);
  } finally {
    await s.close();
  }
});

test('a cut connection is resumed with a Range request and completes', async () => {
  const s = await serve({ cutAt: 100_000, cutRequests: [0] });
  try {
    const dest = fresh();
    const seen: DownloadProgress[] = [];
    await downloadFile(s.url, dest, { md5, ...fast, onProgress: (p) => seen.push(p) });
    expect(s.requests.map((r) => r.range)).toEqual([undefined, 'bytes=100000-']);
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
    expect(seen[seen.length - 1]).toMatchObject({ received: data.length, total: data.length, resumedFrom: 100_000 });
  } finally {
    await s.close();
  }
});

test('without retries the part is kept, and the next call resumes from it', async () => {
  const s = await serve({ cutAt: 120_000, cutRequests: [0] });
  try {
    const dest = fresh();
    await expect(downloadFile(s.url, dest, { md5, retries: 0 })).rejects.toThrow(
      /gave up after 1 attempt.*120000 bytes received are kept/,
    );
    expect(fs.statSync(`${dest}.part`).size).toBe(120_000);
    expect(fs.existsSync(dest)).toBe(false);
    await downloadFile(s.url, dest, { md5 });
    expect(s.requests.map((r) => r.range)).toEqual([undefined, 'bytes=120000-']);
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
  } finally {
    await s.close();
  }
});

test('a server that ignores Range: the download restarts from byte 0', async () => {
  const s = await serve({ cutAt: 50_000, cutRequests: [0], ignoreRange: true });
  try {
    const dest = fresh();
    await downloadFile(s.url, dest, { md5, ...fast });
    expect(s.requests.map((r) => r.range)).toEqual([undefined, 'bytes=50000-']);
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
  } finally {
    await s.close();
  }
});

test('wrong bytes: checksum mismatch, nothing left at dest or in the part file', async () => {
  const wrong = Buffer.from(data);
  wrong[12345] ^= 1;
  const s = await serve({ body: wrong });
  try {
    const dest = fresh();
    await expect(downloadFile(s.url, dest, { md5 })).rejects.toThrow(
      new RegExp(`md5 mismatch: expected ${md5}, got [0-9a-f]{32}.*deleted`),
    );
    expect(fs.existsSync(dest)).toBe(false);
    expect(fs.existsSync(`${dest}.part`)).toBe(false);
    await expect(downloadFile(s.url, dest, { sha256 })).rejects.toThrow(/sha256 mismatch/);
  } finally {
    await s.close();
  }
});

test('a stale part from another file: one fresh download, then the right file', async () => {
  const s = await serve({});
  try {
    const dest = fresh();
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(`${dest}.part`, crypto.randomBytes(1000));
    await downloadFile(s.url, dest, { md5, ...fast });
    expect(s.requests.map((r) => r.range)).toEqual(['bytes=1000-', undefined]);
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
  } finally {
    await s.close();
  }
});

test('a corrupt file already at dest is replaced', async () => {
  const s = await serve({});
  try {
    const dest = fresh();
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, 'not it');
    await downloadFile(s.url, dest, { md5 });
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
  } finally {
    await s.close();
  }
});

test('HTTP errors, redirects, bad arguments', async () => {
  const missing = await serve({ status: 404 });
  const ok = await serve({});
  try {
    const dest = fresh();
    await expect(downloadFile(missing.url, dest, { md5 })).rejects.toThrow(/HTTP 404 Not Found/);
    expect(missing.requests.length).toBe(1); // a 4xx is not retried
    expect(fs.existsSync(dest) || fs.existsSync(`${dest}.part`)).toBe(false);
    await downloadFile(`${ok.base}/moved`, dest, { md5 });
    expect(ok.requests.map((r) => r.url)).toEqual(['/moved', '/file']);
    expect(fs.readFileSync(dest).equals(data)).toBe(true);
    await expect(downloadFile('ftp://example.invalid/x', fresh())).rejects.toThrow(/only http and https/);
    await expect(downloadFile('not a url', fresh())).rejects.toThrow(/not a valid URL/);
    await expect(downloadFile(ok.url, fresh(), { md5: 'abc' })).rejects.toThrow(/md5 must be 32 hex digits/);
    await expect(downloadFile(ok.url, fresh(), { retries: -1 })).rejects.toThrow(
      /retries must be a non-negative integer/,
    );
  } finally {
    await missing.close();
    await ok.close();
  }
});

test('a 5xx is retried, then reported', async () => {
  const s = await serve({ status: 503 });
  try {
    await expect(downloadFile(s.url, fresh(), { retries: 2, ...fast })).rejects.toThrow(
      /HTTP 503.*gave up after 3 attempt/,
    );
    expect(s.requests.length).toBe(3);
  } finally {
    await s.close();
  }
});

test('abort: the signal stops a stalled download and keeps the part for later', async () => {
  const s = await serve({ stallAt: 40_000 });
  try {
    const dest = fresh();
    const controller = new AbortController();
    const run = downloadFile(s.url, dest, {
      md5,
      signal: controller.signal,
      onProgress: (p) => p.received >= 40_000 && setTimeout(() => controller.abort(), 20),
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(fs.statSync(`${dest}.part`).size).toBe(40_000);
    expect(fs.existsSync(dest)).toBe(false);
  } finally {
    await s.close();
  }
});

test('a silent server times out and is retried', async () => {
  const s = await serve({ stallAt: 10_000 });
  try {
    const dest = fresh();
    await expect(downloadFile(s.url, dest, { timeoutMs: 200, retries: 1, ...fast })).rejects.toThrow(
      /no data for 0.2 s.*gave up after 2 attempt/,
    );
    expect(s.requests.map((r) => r.range)).toEqual([undefined, 'bytes=10000-']);
  } finally {
    await s.close();
  }
});

test('downloadCifar: official names and checksums, a mirror still verified against the official md5', async () => {
  expect(CIFAR_ARCHIVES[10].url).toBe('https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz');
  expect(CIFAR_ARCHIVES[100].url).toBe('https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz');
  const s = await serve({});
  try {
    const dir = path.join(root, 'cifar');
    await expect(downloadCifar(10, { dir, url: s.url })).rejects.toThrow(
      /md5 mismatch: expected c32a1d4ab5d03f1284b67883e8d87530/,
    );
    await expect(downloadCifar(100, { dir, url: s.url })).rejects.toThrow(
      /md5 mismatch: expected 03b5dce01913d631647c71ecec9e9cb8/,
    );
    expect(fs.readdirSync(dir)).toEqual([]);
    await expect(downloadCifar(7 as 10, { dir })).rejects.toThrow(/variant must be 10 or 100/);
  } finally {
    await s.close();
  }
});

/** A writable that collects what is written; `isTTY` decides which display the reporter picks. */
function capture(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = Object.assign(new Writable({ write: (c: Buffer, _e, done) => (chunks.push(c.toString()), done()) }), {
    isTTY,
    columns: 120,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
  });
  return { stream, text: () => chunks.join('') };
}

test('progress display: plain lines when not a terminal, a bar with bytes, speed and ETA on one', () => {
  const MiB = 1024 * 1024;
  const plain = capture(false);
  const r = progressReporter('CIFAR-10', plain.stream);
  for (let i = 0; i <= 100; i++)
    r.onProgress({ url: 'u', received: i * MiB, total: 100 * MiB, resumedFrom: 0, bytesPerSecond: 2 * MiB });
  r.stop();
  const lines = plain.text().trim().split('\n');
  expect(lines.length).toBe(11); // 0%, 10%, ..., 100%
  expect(lines[10]).toBe('CIFAR-10: 100.0 MiB / 100.0 MiB (100%), 2.0 MiB/s');
  const tty = capture(true);
  const b = progressReporter('CIFAR-10', tty.stream);
  b.onProgress({ url: 'u', received: 0, total: 100 * MiB, resumedFrom: 0, bytesPerSecond: 0 });
  b.onProgress({ url: 'u', received: 50 * MiB, total: 100 * MiB, resumedFrom: 0, bytesPerSecond: 3 * MiB });
  b.stop();
  expect(tty.text()).toMatch(/CIFAR-10 \[[^\]]+\] 50% \| 50\.0 MiB \/ 100\.0 MiB \| 3\.0 MiB\/s \| ETA/);
});

test('downloadCommand: dataset names, progress lines, the error of a bad archive', async () => {
  const s = await serve({});
  try {
    await expect(downloadCommand('mnist', {})).rejects.toThrow(/unknown dataset "mnist"; expected cifar10 or cifar100/);
    const err = capture(false);
    const out = capture(false);
    const dir = path.join(root, 'cmd');
    await expect(
      downloadCommand('cifar10', { dir, url: s.url }, { stdout: out.stream, stderr: err.stream }),
    ).rejects.toThrow(/md5 mismatch/);
    expect(err.text()).toMatch(/^CIFAR-10: 0\.0 MiB \/ 0\.3 MiB \(0%\)/);
    expect(err.text()).toMatch(/CIFAR-10: 0\.3 MiB \/ 0\.3 MiB \(100%\)/);
    expect(out.text()).toBe('');
  } finally {
    await s.close();
  }
});
