// One vocabulary for the argument checks of public entry points (as sharp's lib/is.js). Each check
// returns the value when it passes and otherwise throws, worded "Owner: name must be ..., got ...":
// a TypeError when the value is not of the kind asked for, a RangeError when it is out of range.

/** A value as the error shows it: numbers plain, strings quoted, the rest as JSON (or its type). */
export function shown(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return `'${value}'`;
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value) && value.length > 8) return `an array of ${value.length}`;
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}

function fail(
  Kind: typeof RangeError | typeof TypeError,
  owner: string,
  name: string,
  what: string,
  value: unknown,
): never {
  throw new Kind(`${owner}: ${name} must be ${what}, got ${shown(value)}`);
}

/** A finite number (TypeError otherwise). */
export function number(owner: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(TypeError, owner, name, 'a finite number', value);
  return value;
}

/** An integer (any sign). */
export function integer(owner: string, name: string, value: unknown): number {
  if (!Number.isInteger(value)) fail(RangeError, owner, name, 'an integer', value);
  return value as number;
}

/** An integer in [lo, hi]; `note` says where the bounds come from ("the bank size"). */
export function intInRange(owner: string, name: string, value: unknown, lo: number, hi: number, note?: string): number {
  if (!Number.isInteger(value) || (value as number) < lo || (value as number) > hi)
    fail(RangeError, owner, name, `an integer in [${lo}, ${hi}]${note ? ` (${note})` : ''}`, value);
  return value as number;
}

/** An integer >= 1. */
export function positiveInt(owner: string, name: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1) fail(RangeError, owner, name, 'a positive integer', value);
  return value as number;
}

/** An odd integer >= 1 (a kernel with a centre). */
export function oddPositiveInt(owner: string, name: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) % 2 !== 1)
    fail(RangeError, owner, name, 'a positive odd integer', value);
  return value as number;
}

/** An integer >= 0. */
export function nonNegativeInt(owner: string, name: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 0) fail(RangeError, owner, name, 'a non-negative integer', value);
  return value as number;
}

/** A number > 0. */
export function positive(owner: string, name: string, value: unknown): number {
  if (!(typeof value === 'number' && value > 0 && value !== Infinity)) fail(RangeError, owner, name, '> 0', value);
  return value as number;
}

/** A number >= 0. */
export function nonNegative(owner: string, name: string, value: unknown): number {
  if (!(typeof value === 'number' && value >= 0 && value !== Infinity)) fail(RangeError, owner, name, '>= 0', value);
  return value as number;
}

/** A number in [lo, hi], or [lo, hi) with `{ hiOpen: true }` (and (lo, ... with loOpen). */
export function inRange(
  owner: string,
  name: string,
  value: unknown,
  lo: number,
  hi: number,
  open: { loOpen?: boolean; hiOpen?: boolean } = {},
): number {
  const v = value as number;
  const ok = typeof value === 'number' && (open.loOpen ? v > lo : v >= lo) && (open.hiOpen ? v < hi : v <= hi);
  if (!ok) fail(RangeError, owner, name, `in ${open.loOpen ? '(' : '['}${lo}, ${hi}${open.hiOpen ? ')' : ']'}`, value);
  return v;
}

/** A probability: a number in [0, 1]. */
export function probability(owner: string, name: string, value: unknown): number {
  return inRange(owner, name, value, 0, 1);
}

/** One of `choices` (compared with ===). */
export function oneOf<T>(owner: string, name: string, value: unknown, choices: readonly T[]): T {
  if (!choices.includes(value as T))
    fail(
      RangeError,
      owner,
      name,
      choices
        .map(shown)
        .join(', ')
        .replace(/, ([^,]*)$/, ' or $1'),
      value,
    );
  return value as T;
}

/** A boolean (TypeError otherwise). */
export function boolean(owner: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(TypeError, owner, name, 'true or false', value);
  return value;
}

/** A non-empty string (TypeError otherwise). */
export function nonEmptyString(owner: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) fail(TypeError, owner, name, 'a non-empty string', value);
  return value;
}
