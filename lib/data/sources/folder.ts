// A folder as an image source. Folder names are read as bytes (io/file-names.ts); looping and
// dangling links are left out and listed.
import * as fs from 'fs';
import * as path from 'path';
import { decodeFileName, fsPath } from '../../io/file-names';
import { fail, SourceTree } from './source-tree';

/** wrapper / split / class / image: nothing deeper is listed. */
const MAX_DEPTH = 4;

/** A folder: names are read as bytes (decodeFileName), so files whose names are not UTF-8 are read too. */
export function folderTree(root: string): SourceTree {
  const dirs = new Set<string>();
  const files = new Set<string>();
  const unreadable: string[] = [];
  const at = (name: string) => fsPath(path.join(root, name));
  const walk = (rel: string, depth: number) => {
    let entries: fs.Dirent<Buffer>[];
    try {
      entries = fs.readdirSync(at(rel), { withFileTypes: true, encoding: 'buffer' });
    } catch (e) {
      fail(`cannot list ${path.join(root, rel)}: ${(e as Error).message}`);
    }
    for (const e of entries) {
      const base = decodeFileName(e.name);
      const name = rel ? `${rel}/${base}` : base;
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        let s: fs.Stats | undefined;
        try {
          s = fs.statSync(at(name), { throwIfNoEntry: false });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ELOOP') throw err;
          unreadable.push(`${path.join(root, name)}: a symbolic link that loops`);
          continue;
        }
        if (!s) {
          unreadable.push(`${path.join(root, name)}: a dangling symbolic link`);
          continue;
        }
        isDir = s.isDirectory();
        isFile = s.isFile();
      }
      if (isDir) {
        dirs.add(name);
        if (depth < MAX_DEPTH) walk(name, depth + 1);
      } else if (isFile) {
        files.add(name);
      }
    }
  };
  walk('', 1);
  return {
    path: root,
    container: 'folder',
    dirs,
    files,
    unreadable,
    where: (name) => path.join(root, name),
    read: async (name) => {
      try {
        return await fs.promises.readFile(at(name));
      } catch (e) {
        throw new Error(`${path.join(root, name)}: cannot read: ${(e as Error).message}`);
      }
    },
    identity: (names) =>
      names.map((n) => {
        const s = fs.statSync(at(n), { throwIfNoEntry: false });
        return s ? [n, s.size, s.mtimeMs] : [n, null];
      }),
  };
}
