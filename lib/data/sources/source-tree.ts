// What every image source (folder, .tar, .tar.gz) gives the dataset code: its folders and files by
// name, and a way to read one. Names are posix and relative to the source; archive members that
// point outside it are left out and listed.

import * as fs from 'fs';

/** Image files, by extension (any case). */
export const IMAGE = /\.(jpe?g|png)$/i;

/** Every folder and file of a source (posix names relative to it) and how to read a file. */
export interface SourceTree {
  /** absolute path of the folder or archive */
  path: string;
  container: 'folder' | 'tar' | 'tar.gz';
  dirs: Set<string>;
  files: Set<string>;
  /** where a member is, for messages: a file path, or ARCHIVE:member */
  where(name: string): string;
  read(name: string): Promise<Buffer>;
  /** what identifies the content of `names` for the cache: their sizes and mtimes, or the archive's */
  identity(names: string[]): unknown;
  /** entries left out, each with why: looping or dangling links, absolute or `..` archive members */
  unreadable?: string[];
}

function clean(name: string): string {
  return name.replace(/^(\.?\/)+/, '').replace(/\/+$/, '');
}

/** An archive member's name inside the source, or '' when it points outside (absolute or `..`): those are left out and listed. */
export function memberName(raw: string, file: string, unreadable: string[]): string {
  if (raw.startsWith('/') || /^[A-Za-z]:[\\/]/.test(raw) || raw.split(/[\\/]/).includes('..')) {
    unreadable.push(`${file}:${raw}: a member outside the archive's folder (absolute or ..)`);
    return '';
  }
  return clean(raw);
}

/** Errors of image folders and their sources start with 'ImageFolder: '. */
export function fail(message: string): never {
  throw new Error(`ImageFolder: ${message}`);
}

/** An archive's identity for the cache: its size and mtime. */
export function archiveIdentity(file: string): unknown {
  const s = fs.statSync(file);
  return [s.size, s.mtimeMs];
}
