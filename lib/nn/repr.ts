// Python's spelling of option values, for printing modules as PyTorch does (1e-05, True, (3, 3)).
import { native } from '../native';

let newPrint: boolean | undefined;
/**
 * Whether the loaded LibTorch's torch.nn prints `bias=` in BatchNorm and LayerNorm (2.13 and 2.14
 * do, 1.13 does not; checked against those sources: the versions unmix supports). Prints follow
 * the PyTorch of the LibTorch under us, so they match what its Python prints.
 */
export function printsNormBias(): boolean {
  if (newPrint === undefined) {
    const [major, minor] = String(native.info().libtorch).split('.').map(Number);
    newPrint = major > 2 || (major === 2 && minor >= 13);
  }
  return newPrint;
}

/** A float as Python's repr writes it: shortest round-trip digits, exponent form below 1e-4 or from 1e16. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const [mantissa, exp] = x.toExponential().split('e');
  const e = Number(exp);
  if (x !== 0 && (e < -4 || e >= 16)) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  const s = String(x);
  return s.includes('.') ? s : `${s}.0`;
}

export function pyBool(b: boolean): string {
  return b ? 'True' : 'False';
}

/** A tuple of ints: `(3, 3)`, `(8,)`. */
export function pyTuple(xs: number[]): string {
  return xs.length === 1 ? `(${xs[0]},)` : `(${xs.join(', ')})`;
}

/** An int or int pair option as given: a number stays a number, an array prints as a tuple. */
export function pyIntOrTuple(v: number | number[]): string {
  return Array.isArray(v) ? pyTuple(v) : String(v);
}
