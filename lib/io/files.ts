// Reading user-named files: anything but a regular file (a FIFO, a device, a folder) is refused
// before a read could block on it or never end.
import * as fs from 'fs';
import * as path from 'path';

export function fileKind(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** The file's stat, or an error naming it when it is missing or not a regular file. */
export function statRegularFile(file: string): fs.Stats {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
  if (!stat.isFile()) throw new Error(`${file}: not a regular file (${fileKind(stat)})`);
  return stat;
}

/** The whole file, once it is known to be a regular file. */
export function readRegularFile(file: string): Buffer {
  statRegularFile(file);
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
}

/**
 * mkdir -p one folder at a time. Node's recursive mkdir loops forever under /proc and reports a
 * read-only file system as ENOENT; here each step's own error names the folder it could not make.
 */
export function makeDir(dir: string, owner?: string): void {
  const fail = (code: string, message: string) => {
    const e = new Error(`${owner ? `${owner}: ` : ''}${code}: ${message}`) as NodeJS.ErrnoException;
    e.code = code;
    throw e;
  };
  const missing: string[] = [];
  let cur = path.resolve(dir);
  while (!fs.existsSync(cur)) {
    missing.unshift(cur);
    const up = path.dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  if (fs.existsSync(cur) && !fs.statSync(cur).isDirectory())
    fail('ENOTDIR', `cannot create ${dir}: ${cur} is not a folder`);
  for (const d of missing) {
    try {
      fs.mkdirSync(d);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EEXIST' && fs.statSync(d).isDirectory()) continue;
      const why =
        err.code === 'ENOENT'
          ? `its file system does not allow new folders in ${path.dirname(d)}`
          : err.code === 'EROFS'
            ? 'the file system is read-only'
            : err.code === 'EACCES' || err.code === 'EPERM'
              ? `permission denied in ${path.dirname(d)}`
              : err.message.replace(/^\w+: /, '');
      fail(err.code ?? 'EIO', `cannot create the folder ${d}: ${why}`);
    }
  }
}
