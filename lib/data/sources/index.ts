// Image sources: a folder, a plain .tar or a .tar.gz, told apart by content and read through one
// interface (SourceTree).
import * as fs from 'fs';
import * as path from 'path';
import * as tar from 'tar';
import { fileKind } from '../../io/files';
import { memoryBudget } from '../budget';
import { folderTree } from './folder';
import { fail, SourceTree } from './source-tree';
import { tarTree } from './tar';
import { gzipTree } from './tar-gz';

export type { SourceTree } from './source-tree';

/** Lists a folder, .tar or .tar.gz (told apart by content, not by extension); a .tar.gz's images are held in memory, within `memoryBudget`. */
export function readSourceTree(source: string, options: { memoryBudget?: number } = {}): SourceTree {
  const resolved = path.resolve(source);
  const stat = fs.statSync(resolved, { throwIfNoEntry: false });
  if (!stat) fail(`${source} does not exist`);
  let tree: SourceTree;
  if (stat.isDirectory()) {
    tree = folderTree(resolved);
  } else if (!stat.isFile()) {
    fail(`${source} is neither a folder nor a regular file (${fileKind(stat)})`);
  } else {
    const head = Buffer.alloc(512);
    const fd = fs.openSync(resolved, 'r');
    const n = fs.readSync(fd, head, 0, 512, 0);
    fs.closeSync(fd);
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b)
      tree = gzipTree(resolved, memoryBudget(options.memoryBudget, 'readSourceTree'));
    else if (n === 512 && new tar.Header(head).cksumValid) tree = tarTree(resolved, stat.size);
    else fail(`${source} is neither a folder, a .tar nor a .tar.gz`);
  }
  // Archives need not list folders: every member's parents are folders.
  for (const name of [...tree.files, ...tree.dirs]) {
    for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) tree.dirs.add(name.slice(0, i));
  }
  return tree;
}
