// A results folder belongs to one run at a time: a lock file (with stale-lock detection), no
// silent overwrite of a finished run, no resume with changed training flags, and no leftover
// temporary files from a run that was killed mid-write.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const LOCK = '.unmix.lock';
/** What a run leaves in its folder; any of them means the folder already holds a run. */
export const RUN_FILES = ['checkpoint.safetensors', 'log.csv', 'log.jsonl', 'args.json'];
/**
 * Flags that may change on --resume: they do not change what is trained (length, evaluation,
 * display, decoding threads, where things go; `normalization` is what --mean/--std resolved to, and those are compared). Any other difference is refused.
 */
export const RESUMABLE_ARGS = [
  'epochs',
  'knnEvery',
  'knnK',
  'knnT',
  'testSubset',
  'evalInit',
  'progress',
  'workers',
  'resume',
  'overwrite',
  'resultsDir',
  'dump_path',
  'normalization',
];

interface LockInfo {
  pid: number;
  host: string;
  started: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the folder's lock, or says which run holds it. A lock whose process is gone is replaced. */
export function lockRunFolder(dir: string, log: (line: string) => void): () => void {
  const file = path.join(dir, LOCK);
  const mine: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(mine) + '\n', { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
    }
    let held: LockInfo | undefined;
    try {
      held = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
    } catch {
      // unreadable or half-written: its writer died before finishing it
    }
    if (held && held.host !== mine.host) {
      throw new Error(
        `Trainer: ${dir} is locked by a run on ${held.host} (pid ${held.pid}, since ${held.started}); if that run is gone, remove ${file}`,
      );
    }
    if (held && Number.isInteger(held.pid) && alive(held.pid)) {
      throw new Error(
        `Trainer: ${dir} is in use by another run (pid ${held.pid}, since ${held.started}); wait for it to finish or choose another results folder`,
      );
    }
    log(`removed a stale lock in ${dir} (pid ${held?.pid ?? '?'} is gone)`);
    fs.rmSync(file, { force: true });
  }
  return () => {
    try {
      const held = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
      if (held.pid === mine.pid && held.started === mine.started) fs.rmSync(file, { force: true });
    } catch {
      // already gone
    }
  };
}

/** Removes temporary files of writeFileAtomic left by a killed run (the caller holds the lock). */
export function removeStaleTemporaries(dir: string): string[] {
  const stale = fs.readdirSync(dir).filter((f) => /^\..+\.\d+\.\d+\.tmp$/.test(f));
  for (const f of stale) fs.rmSync(path.join(dir, f), { force: true });
  return stale;
}

/** The run files already in `dir`. */
export function existingRunFiles(dir: string): string[] {
  return RUN_FILES.filter((f) => fs.existsSync(path.join(dir, f)));
}

/** The training flags that differ between a saved run and this one (ignoring RESUMABLE_ARGS). */
export function changedArgs(saved: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(now)])]
    .filter((k) => !RESUMABLE_ARGS.includes(k))
    .sort();
  const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));
  return keys
    .filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(now[k]))
    .map((k) => `${k} ${show(saved[k])} → ${show(now[k])}`);
}
