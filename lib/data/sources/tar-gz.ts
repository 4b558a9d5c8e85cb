// A .tar.gz as an image source: decompressed once, with the encoded images held in memory (fine
// for CIFAR-sized sets; extract big ones or repack them as plain .tar), within the memory budget.
import * as tar from 'tar';
import { formatBytes } from '../budget';
import { archiveIdentity, fail, IMAGE, memberName, SourceTree } from './source-tree';

/** .tar.gz: one pass of node-tar keeps the bytes of image members (only) in memory, at most `budget` of them. */
export function gzipTree(file: string, budget: number): SourceTree {
  const dirs = new Set<string>();
  const files = new Set<string>();
  const unreadable: string[] = [];
  const data = new Map<string, Buffer>();
  let held = 0;
  try {
    tar.t({
      file,
      sync: true,
      strict: true,
      onReadEntry: (entry) => {
        const name = memberName(entry.path, file, unreadable);
        if (!name) return entry.resume();
        if (entry.type === 'Directory') dirs.add(name);
        if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') return entry.resume();
        files.add(name);
        if (!IMAGE.test(name) || held > budget) return entry.resume();
        held += entry.size ?? 0;
        if (held > budget) {
          data.clear();
          return entry.resume();
        }
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => data.set(name, Buffer.concat(chunks)));
      },
    });
  } catch (e) {
    fail(`${file} is not a readable .tar.gz (${(e as Error).message})`);
  }
  if (held > budget) {
    fail(
      `${file}: a .tar.gz is held in memory, and its images take more than the memory budget of ${formatBytes(budget)} (memoryBudget, or UNMIX_DATASET_BUDGET, in bytes); extract it, or repack it as a plain .tar (read lazily)`,
    );
  }
  return {
    path: file,
    container: 'tar.gz',
    dirs,
    files,
    unreadable,
    where: (name) => `${file}:${name}`,
    read: async (name) => {
      const bytes = data.get(name);
      if (!bytes) throw new Error(`${file}:${name}: no such image in the archive`);
      return bytes;
    },
    identity: () => archiveIdentity(file),
  };
}
