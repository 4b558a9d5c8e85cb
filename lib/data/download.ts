// Opt-in downloads (CIFAR-10/100 from the dataset authors' site) with node's own http/https: redirects
// followed, data written to `dest.part`, a dropped connection resumed with an HTTP Range request, the
// checksum verified before the file is renamed into place. Nothing here runs unless asked: the quick
// start uses the synthetic dataset. Progress is reported as numbers; cli/download.ts displays it.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as path from 'path';
import { Readable, Transform } from 'stream';
import { pipeline } from 'stream/promises';
import { makeDir } from '../io/files';

export interface DownloadProgress {
  url: string;
  /** bytes in the file so far, resumed bytes included */
  received: number;
  /** the whole file's size, when the server says */
  total?: number;
  /** bytes already on disk when the current request started (0 unless resuming) */
  resumedFrom: number;
  /** bytes per second over the current request */
  bytesPerSecond: number;
}

export interface DownloadOptions {
  /** expected MD5 (hex); the file is only kept if it matches */
  md5?: string;
  /** expected SHA-256 (hex) */
  sha256?: string;
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
  /** how many times a dropped connection is resumed before giving up (default 3) */
  retries?: number;
  /** wait before each retry, doubled every time (default 1,000 ms) */
  retryDelayMs?: number;
  /** a connection silent this long counts as dropped (default 60,000 ms) */
  timeoutMs?: number;
  /** default 5 */
  maxRedirects?: number;
}

/** Official binary archives (the layout lib/data/cifar.ts reads); MD5s as published on https://www.cs.toronto.edu/~kriz/cifar.html. */
export const CIFAR_ARCHIVES = {
  10: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    md5: 'c32a1d4ab5d03f1284b67883e8d87530',
    bytes: 170052171,
  },
  100: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
    md5: '03b5dce01913d631647c71ecec9e9cb8',
    bytes: 168513733,
  },
} as const;

/** An error after which resuming makes sense (connection lost, timeout, short body). */
class RetryableError extends Error {}

function checkDigest(name: 'md5' | 'sha256', value: string | undefined, hexLength: number): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !new RegExp(`^[0-9a-fA-F]{${hexLength}}$`).test(value)) {
    throw new Error(`download: ${name} must be ${hexLength} hex digits, got ${JSON.stringify(value)}`);
  }
  return value.toLowerCase();
}

async function hashFile(file: string, algorithm: 'md5' | 'sha256'): Promise<string> {
  const hash = crypto.createHash(algorithm);
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

/** The first checksum that does not match, as a sentence; undefined when all match. */
async function checksumProblem(file: string, expected: { md5?: string; sha256?: string }): Promise<string | undefined> {
  for (const algorithm of ['md5', 'sha256'] as const) {
    const want = expected[algorithm];
    if (want === undefined) continue;
    const got = await hashFile(file, algorithm);
    if (got !== want) return `${algorithm} mismatch: expected ${want}, got ${got}`;
  }
  return undefined;
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

interface Response {
  res: http.IncomingMessage;
  url: string;
  /** why the connection was cut from our side (idle timeout), if it was */
  cut: () => Error | undefined;
}

/** GET with redirects followed; resolves with the final response (its body not yet read). */
function get(
  url: string,
  headers: Record<string, string>,
  options: DownloadOptions,
  redirectsLeft: number,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      reject(new Error(`download: ${JSON.stringify(url)} is not a valid URL`));
      return;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      reject(new Error(`download: only http and https URLs are supported, got ${parsed.protocol} (${url})`));
      return;
    }
    const client = parsed.protocol === 'https:' ? https : http;
    let cut: Error | undefined;
    const req = client.get(
      parsed,
      { headers: { 'user-agent': 'unmix', ...headers }, signal: options.signal },
      (res) => {
        const status = res.statusCode ?? 0;
        if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
          res.resume();
          if (redirectsLeft <= 0) {
            reject(new Error(`download ${url}: too many redirects`));
            return;
          }
          get(new URL(res.headers.location, parsed).toString(), headers, options, redirectsLeft - 1).then(
            resolve,
            reject,
          );
          return;
        }
        resolve({ res, url, cut: () => cut });
      },
    );
    const timeoutMs = options.timeoutMs ?? 60000;
    req.setTimeout(timeoutMs, () => req.destroy((cut = new RetryableError(`no data for ${timeoutMs / 1000} s`))));
    req.on('error', (e) => reject(abortReason(options.signal) ?? cut ?? asRetryable(e)));
  });
}

/** The abort as an AbortError (the socket error it causes says only ECONNRESET). */
function abortReason(signal: AbortSignal | undefined): Error | undefined {
  if (!signal?.aborted) return undefined;
  const reason = signal.reason as unknown;
  return reason instanceof Error ? reason : Object.assign(new Error('download aborted'), { name: 'AbortError' });
}

function asRetryable(e: unknown): Error {
  if (e instanceof RetryableError) return e;
  const err = e as NodeJS.ErrnoException;
  // Socket-level failures (reset, refused, premature close, DNS hiccups) are worth another try.
  return new RetryableError(err.code ? `${err.code}: ${err.message}` : String(err?.message ?? e));
}

/**
 * The response body as a stream that ends, rather than fails, when the connection breaks: a failing
 * pipeline destroys the file stream and drops the bytes it has not written yet, so a cut download
 * kept fewer bytes than it had received (under load, 65,409 of 120,000). `error()` tells why it ended.
 */
function endOnBreak(res: http.IncomingMessage): { stream: Readable; error: () => unknown } {
  let failure: unknown = null;
  let ended = false;
  const stream = new Readable({ read: () => void res.resume() });
  const end = (e?: unknown) => {
    if (ended) return;
    ended = true;
    if (e !== undefined) failure = e;
    stream.push(null);
  };
  res.on('data', (chunk: Buffer) => {
    if (!ended && !stream.push(chunk)) res.pause();
  });
  res.on('end', () => end(res.complete ? undefined : new Error('aborted')));
  res.on('error', (e) => end(e));
  res.on('close', () => end(res.complete ? undefined : new Error('aborted')));
  return { stream, error: () => failure };
}

/** One request: appends to `part` from its current size (or restarts it) until the body ends. */
async function fetchInto(url: string, part: string, options: DownloadOptions): Promise<void> {
  let start = sizeOf(part);
  const {
    res,
    url: finalUrl,
    cut,
  } = await get(url, start > 0 ? { range: `bytes=${start}-` } : {}, options, options.maxRedirects ?? 5);
  const status = res.statusCode ?? 0;
  let total: number | undefined;
  const length = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
    if (!m || Number(m[1]) !== start) {
      res.resume();
      fs.rmSync(part, { force: true }); // a range we did not ask for: start over
      throw new RetryableError(
        `server answered the range request for byte ${start} with ${JSON.stringify(res.headers['content-range'])}`,
      );
    }
    total = m[3] === '*' ? undefined : Number(m[3]);
  } else if (status === 200) {
    start = 0; // no Range support (or no part): the body is the whole file
    total = length;
  } else if (status === 416 && start > 0) {
    res.resume();
    const m = /^bytes \*\/(\d+)$/.exec(res.headers['content-range'] ?? '');
    if (m && Number(m[1]) === start) return; // the part is already complete
    fs.rmSync(part, { force: true });
    throw new RetryableError(`the partial file (${start} bytes) does not fit the server's file; starting over`);
  } else {
    res.resume();
    const message = `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
    if (status >= 500) throw new RetryableError(finalUrl === url ? message : `${message} from ${finalUrl}`); // server trouble may pass
    throw new Error(`download ${finalUrl}: ${message}`);
  }

  let received = start;
  const began = Date.now();
  const report = () =>
    options.onProgress?.({
      url,
      received,
      total,
      resumedFrom: start,
      bytesPerSecond: (received - start) / Math.max((Date.now() - began) / 1000, 1e-3),
    });
  report();
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      report();
      done(null, chunk);
    },
  });
  const body = endOnBreak(res);
  try {
    await pipeline(body.stream, counter, fs.createWriteStream(part, { flags: start > 0 ? 'a' : 'w' }));
  } catch (e) {
    throw abortReason(options.signal) ?? cut() ?? asRetryable(e);
  }
  if (body.error()) throw abortReason(options.signal) ?? cut() ?? asRetryable(body.error());
  if (!res.complete || (total !== undefined && received !== total)) {
    throw new RetryableError(`connection closed after ${received} of ${total ?? '?'} bytes`);
  }
}

/**
 * Downloads `url` to `dest` and returns `dest`. The data goes to `dest.part` first; a dropped
 * connection is resumed (Range request) up to `retries` times, and a later call resumes a part left
 * behind. With `md5`/`sha256` the file is verified before it is renamed into place: a mismatch
 * deletes the part and throws, and a `dest` already present and matching is not downloaded again.
 */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<string> {
  if (typeof url !== 'string' || typeof dest !== 'string' || dest === '')
    throw new TypeError('downloadFile(url, dest, options): url and dest must be strings');
  const expected = { md5: checkDigest('md5', options.md5, 32), sha256: checkDigest('sha256', options.sha256, 64) };
  const verify = expected.md5 !== undefined || expected.sha256 !== undefined;
  const retries = options.retries ?? 3;
  if (!Number.isInteger(retries) || retries < 0)
    throw new RangeError(`downloadFile: retries must be a non-negative integer, got ${retries}`);
  if (fs.existsSync(dest)) {
    if (!verify || (await checksumProblem(dest, expected)) === undefined) return dest;
    // present but different: download again and replace it
  }
  makeDir(path.dirname(path.resolve(dest)), 'download');
  const part = `${dest}.part`;
  let restartedAfterMismatch = false;
  for (let attempt = 0; ;) {
    options.signal?.throwIfAborted();
    const resumed = sizeOf(part) > 0;
    try {
      await fetchInto(url, part, options);
    } catch (e) {
      if (!(e instanceof RetryableError) || options.signal?.aborted) throw e;
      if (attempt >= retries) {
        const kept = sizeOf(part);
        throw new Error(
          `download ${url}: ${e.message}; gave up after ${retries + 1} attempt(s)${kept ? `, the ${kept} bytes received are kept in ${part} and the next call resumes from there` : ''}`,
        );
      }
      await new Promise((r) => setTimeout(r, (options.retryDelayMs ?? 1000) * 2 ** attempt));
      attempt++;
      continue;
    }
    const problem = verify ? await checksumProblem(part, expected) : undefined;
    if (problem === undefined) break;
    fs.rmSync(part, { force: true });
    // A part left by an older download of a different file spoils the resume: one fresh try.
    if (resumed && !restartedAfterMismatch) {
      restartedAfterMismatch = true;
      continue;
    }
    throw new Error(
      `download ${url}: ${problem}; the downloaded data was deleted (corrupted in transit, or not the expected file)`,
    );
  }
  const fd = fs.openSync(part, 'r+');
  try {
    fs.fsyncSync(fd); // on disk before the rename makes it visible under its final name
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(part, dest);
  return dest;
}

export interface CifarDownloadOptions {
  /** folder for the archive (default 'data', created if missing) */
  dir?: string;
  /** a mirror of the official archive (still verified against the official MD5) */
  url?: string;
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
  retries?: number;
}

/** Downloads the official CIFAR-10 or CIFAR-100 binary archive and returns the path of the verified .tar.gz (loadCifar reads it as is). */
export async function downloadCifar(variant: 10 | 100, options: CifarDownloadOptions = {}): Promise<string> {
  if (variant !== 10 && variant !== 100)
    throw new Error(`downloadCifar: variant must be 10 or 100, got ${JSON.stringify(variant)}`);
  const archive = CIFAR_ARCHIVES[variant];
  const url = options.url ?? archive.url;
  const dest = path.join(options.dir ?? 'data', path.basename(new URL(archive.url).pathname));
  return downloadFile(url, dest, {
    md5: archive.md5,
    onProgress: options.onProgress,
    signal: options.signal,
    retries: options.retries,
  });
}
