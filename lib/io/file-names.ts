// File names that are not UTF-8 (Linux names are bytes): read as Python's os.fsdecode reads them
// (surrogateescape), so they round-trip. Valid UTF-8 decodes as usual; each byte of an invalid
// sequence becomes the lone surrogate U+DC80..U+DCFF, which valid UTF-8 never yields, so distinct
// names stay distinct strings (and sort as Python sorts them). fsPath turns such a string back into
// the bytes the file system knows.

/** Length of the well-formed UTF-8 sequence at b[i] (Unicode table 3-7), or 0 when there is none. */
function sequenceLength(b: Buffer, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  // [length, range of the second byte]; later bytes are 0x80..0xbf
  const [n, lo, hi] =
    c >= 0xc2 && c <= 0xdf
      ? [2, 0x80, 0xbf]
      : c === 0xe0
        ? [3, 0xa0, 0xbf]
        : c === 0xed
          ? [3, 0x80, 0x9f]
          : c >= 0xe1 && c <= 0xef
            ? [3, 0x80, 0xbf]
            : c === 0xf0
              ? [4, 0x90, 0xbf]
              : c >= 0xf1 && c <= 0xf3
                ? [4, 0x80, 0xbf]
                : c === 0xf4
                  ? [4, 0x80, 0x8f]
                  : [0, 0, 0];
  if (!n || i + n > b.length || b[i + 1] < lo || b[i + 1] > hi) return 0;
  for (let k = 2; k < n; k++) if (b[i + k] < 0x80 || b[i + k] > 0xbf) return 0;
  return n;
}

/** A file name's bytes as a string; invalid UTF-8 bytes become U+DC80..U+DCFF (surrogateescape). */
export function decodeFileName(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  if (!text.includes('\ufffd')) return text;
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const n = sequenceLength(bytes, i);
    out += n ? bytes.toString('utf8', i, i + n) : String.fromCharCode(0xdc00 + bytes[i]);
    i += n || 1;
  }
  return out;
}

const ESCAPED = /[\udc80-\udcff]/u;

/** The path to give fs: the string itself, or its bytes when it holds escaped (non-UTF-8) bytes. */
export function fsPath(name: string): string | Buffer {
  if (!ESCAPED.test(name)) return name;
  const parts = name.split(/([\udc80-\udcff])/u);
  return Buffer.concat(parts.map((p, i) => (i % 2 ? Buffer.from([p.charCodeAt(0) - 0xdc00]) : Buffer.from(p, 'utf8'))));
}
