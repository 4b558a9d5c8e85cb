// A plain .tar as an image source: indexed once, each member read lazily at its offset (suits
// large archives).
import * as fs from 'fs';
import * as tar from 'tar';
import { archiveIdentity, fail, memberName, SourceTree } from './source-tree';

/** Plain .tar: headers are read once (ustar, pax and GNU long names); members are read on demand. */
export function tarTree(file: string, size: number): SourceTree {
  const dirs = new Set<string>();
  const files = new Set<string>();
  const unreadable: string[] = [];
  const members = new Map<string, { offset: number; size: number }>();
  const fd = fs.openSync(file, 'r');
  try {
    const block = Buffer.alloc(512);
    const body = (at: number, n: number) => {
      const b = Buffer.alloc(n);
      if (fs.readSync(fd, b, 0, n, at) !== n) fail(`${file} is truncated (a member at byte ${at} runs past the end)`);
      return b.toString('utf8');
    };
    let ex: tar.HeaderData | undefined;
    let gex: tar.HeaderData | undefined;
    let longPath: string | undefined;
    let ended = false;
    for (let pos = 0; pos + 512 <= size;) {
      fs.readSync(fd, block, 0, 512, pos);
      // pax values are applied here, as node-tar's ReadEntry does (Header.decode would prefix them)
      const h = new tar.Header(block, 0);
      if (h.nullBlock) {
        ended = true;
        break;
      }
      if (!h.cksumValid) fail(`${file}: corrupt tar header at byte ${pos} (bad checksum)`);
      const type = h.type as string;
      const meta = [
        'ExtendedHeader',
        'GlobalExtendedHeader',
        'NextFileHasLongPath',
        'OldGnuLongPath',
        'NextFileHasLongLinkpath',
      ].includes(type);
      const start = pos + 512;
      const length = type === 'Directory' ? 0 : ((meta ? h.size : (ex?.size ?? gex?.size ?? h.size)) ?? 0);
      pos = start + Math.ceil(length / 512) * 512;
      if (start + length > size)
        fail(`${file} is truncated (member ${h.path} needs ${start + length} bytes, the file has ${size})`);
      if (type === 'ExtendedHeader') ex = tar.Pax.parse(body(start, length), ex, false);
      else if (type === 'GlobalExtendedHeader') gex = tar.Pax.parse(body(start, length), gex, true);
      else if (type === 'NextFileHasLongPath' || type === 'OldGnuLongPath')
        longPath = body(start, length).replace(/\0[\s\S]*$/, '');
      else if (type === 'NextFileHasLongLinkpath') continue;
      else {
        const name = memberName(longPath ?? ex?.path ?? h.path ?? '', file, unreadable);
        longPath = undefined;
        ex = undefined;
        if (!name) continue;
        if (type === 'Directory') dirs.add(name);
        else if (type === 'File' || type === 'OldFile' || type === 'ContiguousFile') {
          files.add(name);
          members.set(name, { offset: start, size: length });
        }
      }
    }
    // a tar ends with zero blocks: without them, it was cut at a member boundary
    if (!ended) fail(`${file} is truncated (no end-of-archive marker)`);
  } finally {
    fs.closeSync(fd);
  }
  return {
    path: file,
    container: 'tar',
    dirs,
    files,
    unreadable,
    where: (name) => `${file}:${name}`,
    read: async (name) => {
      const m = members.get(name);
      if (!m) throw new Error(`${file}:${name}: no such member in the archive`);
      const handle = await fs.promises.open(file, 'r');
      try {
        const b = Buffer.alloc(m.size);
        const { bytesRead } = await handle.read(b, 0, m.size, m.offset);
        if (bytesRead !== m.size) throw new Error(`${file}:${name}: the archive was truncated after it was indexed`);
        return b;
      } finally {
        await handle.close();
      }
    },
    identity: () => archiveIdentity(file),
  };
}
