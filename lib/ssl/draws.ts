// Recorded step draws, for feeding two implementations the same random choices over a whole run, as the
// Python twins drew them (bench/parity/moco_c10.py and swav_c10.py --save-draws): MoCo's Un-Mix mixture
// (global or region, λ, the box) and shuffle-BN permutations, SwAV's Un-Mix mixture (global or region, λ,
// one box per crop pair). With the same weights and batches too, nothing random is left that differs.
// Format (unmix-draws/1), JSON lines: a header {format, method, batch, unmix, and symmetric (moco) or crops
// (swav: the crop sizes)}, then one line per training step, in order over all epochs:
//   moco: {mix: null | {kind: 'global', lam} | {kind: 'region', lam, box: [a1, b1, a2, b2]}, perms: [[...], ...]}
//   swav: {mix: null | {kind: 'global', lam} | {kind: 'region', lam, boxes: [[a1, b1, a2, b2], ...]}}
// Every line is checked, with its number in the error, before training.
import * as fs from 'fs';
import type { MoCoChoices } from './moco';
import type { SwavMixChoices } from './swav';
import { Box, MixParams } from './unmix';

export const DRAWS_FORMAT = 'unmix-draws/1';
/** Larger files are refused before they are read (a 10-epoch CIFAR run at batch 128 writes about 1 MB). */
const MAX_BYTES = 256 * 2 ** 20;

/** What the reading MoCo run trains with; the header must say the same. */
export interface MoCoDrawsExpectation {
  batch: number;
  symmetric: boolean;
  unmix: boolean;
  /** the views' height and width, which bound a region box */
  height: number;
  width: number;
}

/** What the reading SwAV run trains with; the header must say the same. */
export interface SwavDrawsExpectation {
  batch: number;
  unmix: boolean;
  /** every crop's (square) size, in the order of the views; pair k/2 mixes crops k and k + 1 */
  crops: number[];
}

type Fail = (what: string) => never;

/** Reads and checks a MoCo recording: one MoCoChoices per step, in step order. */
export function readMoCoDraws(file: string, expect: MoCoDrawsExpectation): MoCoChoices[] {
  const calls = expect.symmetric ? 2 : 1;
  return readSteps('readMoCoDraws', file, { method: 'moco', ...pick(expect, ['batch', 'symmetric', 'unmix']) }).map(
    ([step, at]) => {
      const perms = step.perms;
      if (!Array.isArray(perms) || perms.length !== calls) at(`expected ${calls} shuffle permutation(s)`);
      const shufflePerms = (perms as unknown[]).map((p) => {
        if (!isPermutation(p, expect.batch)) at(`a permutation of 0..${expect.batch - 1} expected`);
        return Int32Array.from(p as number[]);
      });
      const what = `a box [a1, b1, a2, b2] inside ${expect.height}×${expect.width}`;
      const mix = mixOf(step.mix, expect.unmix, at, what, (m) => {
        const box = checkBox(m.box, expect.height, expect.width);
        return box ? { kind: 'region', lam: m.lam as number, box } : null;
      });
      return { mix: mix as MixParams | null, shufflePerms };
    },
  );
}

/** Reads and checks a SwAV recording: each step's Un-Mix choices (null without Un-Mix), in step order. */
export function readSwavDraws(file: string, expect: SwavDrawsExpectation): (SwavMixChoices | null)[] {
  const pairs = Math.floor(expect.crops.length / 2);
  const what = `boxes: ${pairs} [a1, b1, a2, b2], box k inside crop 2k (${expect.crops.join(', ')})`;
  return readSteps('readSwavDraws', file, { method: 'swav', ...pick(expect, ['batch', 'unmix', 'crops']) }).map(
    ([step, at]) =>
      mixOf(step.mix, expect.unmix, at, what, (m) => {
        const boxes = Array.isArray(m.boxes) && m.boxes.length === pairs ? m.boxes : [];
        const checked = boxes.map((b, p) => checkBox(b, expect.crops[2 * p], expect.crops[2 * p]));
        return checked.length === pairs && checked.every(Boolean)
          ? { kind: 'region', lam: m.lam as number, boxes: checked as Box[] }
          : null;
      }) as SwavMixChoices | null,
  );
}

/** The file's step lines, each with its error reporter, once the size and the header have been checked. */
function readSteps(reader: string, file: string, header: Record<string, unknown>): [Record<string, unknown>, Fail][] {
  const fail = (line: number, what: string): never => {
    throw new Error(`${reader}: ${file}${line ? ` line ${line}` : ''}: ${what}`);
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
  const found = parse(0);
  if (found.format !== DRAWS_FORMAT)
    fail(1, `not an ${DRAWS_FORMAT} header ({format, ${Object.keys(header).join(', ')}})`);
  for (const [key, want] of Object.entries(header))
    if (JSON.stringify(found[key]) !== JSON.stringify(want))
      fail(1, `recorded with ${key} ${JSON.stringify(found[key])}; this run has ${JSON.stringify(want)}`);
  return lines.slice(1).map((_, i) => [parse(i + 1), (what: string) => fail(i + 2, `step ${i}: ${what}`)]);
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;
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

/** null, a global mixture, or what `region` makes of a region one (null: malformed). */
function mixOf<R>(
  mix: unknown,
  unmix: boolean,
  at: Fail,
  regionWhat: string,
  region: (m: Record<string, unknown>) => R | null,
): { kind: 'global'; lam: number } | R | null {
  if (!unmix) return mix === null ? null : at('a mixture in a run without Un-Mix');
  const m = mix as Record<string, unknown> | null;
  const lam = m?.lam as number;
  if (!m || typeof lam !== 'number' || !(lam >= 0 && lam <= 1)) return at('mix needs a λ in [0, 1]');
  if (m.kind === 'global') return { kind: 'global', lam };
  const made = m.kind === 'region' ? region(m) : null;
  return made ?? at(`mix must be global, or region with ${regionWhat}`);
}

/** [a1, b1, a2, b2] with 0 ≤ a1 ≤ a2 ≤ height and 0 ≤ b1 ≤ b2 ≤ width, else null. */
function checkBox(box: unknown, height: number, width: number): Box | null {
  const b = box as number[];
  const within = (v: number, hi: number) => Number.isInteger(v) && v >= 0 && v <= hi;
  const ok =
    Array.isArray(b) &&
    b.length === 4 &&
    within(b[0], height) &&
    within(b[2], height) &&
    within(b[1], width) &&
    within(b[3], width) &&
    b[0] <= b[2] &&
    b[1] <= b[3];
  return ok ? (b as Box) : null;
}

/** Step `iteration`'s recorded choices; undefined when nothing is replayed, an error past the recording. */
export function recordedStep<T>(method: string, steps: readonly T[] | null, iteration: number): T | undefined {
  if (!steps) return undefined;
  if (iteration >= steps.length)
    throw new Error(`${method}: the replayed draws hold ${steps.length} steps; this is step ${iteration}`);
  return steps[iteration];
}
