// Recorded step draws, for feeding two MoCo implementations the same random choices over a whole run: the
// Un-Mix mixture (global or region, λ, the box) and the shuffle-BN permutations of every step, as the
// Python twin (bench/parity/moco_c10.py --save-draws) drew them. With the same weights and batches too,
// nothing random is left that differs between the two.
// Format (unmix-draws/1), JSON lines: a header {format, batch, symmetric, unmix}, then one line per training
// step, in order over all epochs: {mix: null | {kind: 'global', lam} | {kind: 'region', lam, box: [a1, b1,
// a2, b2]}, perms: [[...], ...]}. Every line is checked, with its number in the error, before training.
import * as fs from 'fs';
import type { MoCoChoices } from './moco';
import { Box, MixParams } from './unmix';

export const DRAWS_FORMAT = 'unmix-draws/1';
/** Larger files are refused before they are read (a 10-epoch CIFAR run at batch 128 writes about 1 MB). */
const MAX_BYTES = 256 * 2 ** 20;

/** What the reading run trains with; the header must say the same. */
export interface DrawsExpectation {
  batch: number;
  symmetric: boolean;
  unmix: boolean;
  /** the views' height and width, which bound a region box */
  height: number;
  width: number;
}

/** Reads and checks a recording of step draws: one MoCoChoices per step, in step order. */
export function readMoCoDraws(file: string, expect: DrawsExpectation): MoCoChoices[] {
  const fail = (line: number, what: string): never => {
    throw new Error(`readMoCoDraws: ${file}${line ? ` line ${line}` : ''}: ${what}`);
  };
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (e) {
    return fail(0, (e as Error).message);
  }
  if (size > MAX_BYTES) fail(0, `${size} bytes; a draws file is at most ${MAX_BYTES}`);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  const parse = (i: number): Record<string, unknown> => {
    try {
      const v = JSON.parse(lines[i]);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v;
    } catch {
      // reported below with the line number
    }
    return fail(i + 1, 'not a JSON object');
  };
  if (!lines.length) fail(0, 'empty');
  const header = parse(0);
  if (header.format !== DRAWS_FORMAT) fail(1, `not an ${DRAWS_FORMAT} header ({format, batch, symmetric, unmix})`);
  for (const key of ['batch', 'symmetric', 'unmix'] as const)
    if (header[key] !== expect[key])
      fail(1, `recorded with ${key} ${JSON.stringify(header[key])}; this run has ${JSON.stringify(expect[key])}`);
  const calls = expect.symmetric ? 2 : 1;
  return lines.slice(1).map((_, i) => {
    const step = parse(i + 1);
    const at = (what: string) => fail(i + 2, `step ${i}: ${what}`);
    const perms = step.perms;
    if (!Array.isArray(perms) || perms.length !== calls) at(`expected ${calls} shuffle permutation(s)`);
    const shufflePerms = (perms as unknown[]).map((p) => {
      if (!isPermutation(p, expect.batch)) at(`a permutation of 0..${expect.batch - 1} expected`);
      return Int32Array.from(p as number[]);
    });
    return { mix: mixOf(step.mix, expect, at), shufflePerms };
  });
}

function isPermutation(p: unknown, n: number): boolean {
  if (!Array.isArray(p) || p.length !== n) return false;
  const seen = new Uint8Array(n);
  for (const v of p) {
    if (!Number.isInteger(v) || v < 0 || v >= n || seen[v]) return false;
    seen[v] = 1;
  }
  return true;
}

function mixOf(mix: unknown, expect: DrawsExpectation, at: (what: string) => never): MixParams | null {
  if (!expect.unmix) return mix === null ? null : at('a mixture in a run without Un-Mix');
  const m = mix as Record<string, unknown> | null;
  const lam = m?.lam as number;
  if (!m || typeof lam !== 'number' || !(lam >= 0 && lam <= 1)) return at('mix needs a λ in [0, 1]');
  if (m.kind === 'global') return { kind: 'global', lam };
  const box = m.box as number[];
  const within = (v: number, hi: number) => Number.isInteger(v) && v >= 0 && v <= hi;
  if (
    m.kind !== 'region' ||
    !Array.isArray(box) ||
    box.length !== 4 ||
    !within(box[0], expect.height) ||
    !within(box[2], expect.height) ||
    !within(box[1], expect.width) ||
    !within(box[3], expect.width) ||
    box[0] > box[2] ||
    box[1] > box[3]
  )
    return at(`mix must be global, or region with a box [a1, b1, a2, b2] inside ${expect.height}×${expect.width}`);
  return { kind: 'region', lam, box: box as Box };
}
