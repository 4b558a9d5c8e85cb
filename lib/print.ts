// Tensor printing with PyTorch's repr rules (torch/_tensor_str.py, default print options): 4
// decimals, one width for every element, scientific notation when the range needs it, more than
// 1000 elements summarised to 3 edge items per dimension, lines of at most 80 characters, and the
// suffixes Python shows (device, a dtype other than float32/int64/bool, grad_fn or requires_grad).
// Python formats the exact binary value with round-half-even; JS's toFixed/toExponential round
// exact ties up, so ties are detected and rounded to even here.
import type { DType } from './dtype';

const PRECISION = 4;
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;
const LINE_WIDTH = 80;

/** What printing needs from a tensor, read by the caller (summarised data only when summarising). */
export interface PrintData {
  /** the elements in row-major order, of the summarised tensor when `summarized` */
  values: ArrayLike<number | bigint>;
  /** the shape of `values` */
  shape: number[];
  /** per dimension: whether it was cut to its edge items (an ellipsis goes in the middle) */
  cut: boolean[];
  dtype: DType;
  device: string;
  /** the full tensor's shape */
  fullShape: number[];
  gradFn: string | null;
  requiresGrad: boolean;
}

const isFloat = (d: DType) => d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';

/** Whether a tensor of `numel` elements is printed summarised. */
export function summarizes(numel: number): boolean {
  return numel > THRESHOLD;
}
export const EDGE = EDGE_ITEMS;

// Python's f"{x:.{p}f}" for a finite x.
function fixed(x: number, p: number): string {
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const a = Math.abs(x);
  let s = a.toFixed(p);
  const long = a.toFixed(p + 30); // exact enough to tell a tie (a's exact expansion ends there)
  const cut = p === 0 ? long.indexOf('.') : long.length - 30;
  if (/^50*$/.test(long.slice(p === 0 ? cut + 1 : cut))) {
    const down = long.slice(0, cut);
    if (Number(down[down.length - 1]) % 2 === 0) s = down;
  }
  return sign + s;
}

// Python's "{:.{p}e}".format(x) for a finite x: two exponent digits at least.
function exponential(x: number, p: number): string {
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const a = Math.abs(x);
  let s = a.toExponential(p);
  const long = a.toExponential(p + 30);
  const [mant, exp] = long.split('e');
  if (/^50*$/.test(mant.slice(mant.length - 30))) {
    const down = mant.slice(0, mant.length - 30).replace(/\.$/, '');
    if (Number(down[down.length - 1]) % 2 === 0) s = `${down}e${exp}`;
  }
  return sign + s.replace(/e([+-])(\d)$/, 'e$10$2');
}

function special(x: number): string | null {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  return null;
}

// torch._tensor_str._Formatter: one width and one notation for all elements.
class Formatter {
  private intMode = true;
  private sciMode = false;
  maxWidth = 1;

  constructor(
    values: ArrayLike<number | bigint>,
    private readonly floating: boolean,
    private readonly bool: boolean,
  ) {
    if (!floating) {
      for (let i = 0; i < values.length; i++) this.maxWidth = Math.max(this.maxWidth, this.plain(values[i]).length);
      return;
    }
    const finite: number[] = [];
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (Number.isFinite(v) && v !== 0) finite.push(v);
    }
    if (!finite.length) return;
    let min = Infinity;
    let max = 0;
    for (const v of finite) {
      min = Math.min(min, Math.abs(v));
      max = Math.max(max, Math.abs(v));
      if (v !== Math.ceil(v)) this.intMode = false;
    }
    const wide = max / min > 1000 || max > 1e8;
    if (this.intMode) {
      this.sciMode = wide;
      for (const v of finite)
        this.maxWidth = Math.max(this.maxWidth, wide ? exponential(v, PRECISION).length : fixed(v, 0).length + 1);
    } else {
      this.sciMode = wide || min < 1e-4;
      for (const v of finite)
        this.maxWidth = Math.max(
          this.maxWidth,
          (this.sciMode ? exponential(v, PRECISION) : fixed(v, PRECISION)).length,
        );
    }
  }

  private plain(v: number | bigint): string {
    return this.bool ? (v ? 'True' : 'False') : String(v);
  }

  format(v: number | bigint): string {
    let s: string;
    if (!this.floating) s = this.plain(v);
    else {
      const x = v as number;
      const sp = special(x);
      if (this.sciMode) s = sp ?? exponential(x, PRECISION);
      else if (this.intMode) s = sp ?? `${fixed(x, 0)}.`;
      else s = sp ?? fixed(x, PRECISION);
    }
    return s.padStart(this.maxWidth);
  }
}

function body(d: PrintData, indent: number): string {
  const f = new Formatter(d.values, isFloat(d.dtype), d.dtype === 'bool');
  if (d.shape.length === 0) return f.format(d.values[0]);
  const strides = d.shape.map((_, i) => d.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const walk = (offset: number, dim: number, ind: number): string => {
    const n = d.shape[dim];
    const half = d.cut[dim] ? n / 2 : -1; // where the ellipsis goes
    if (dim === d.shape.length - 1) {
      const items: string[] = [];
      for (let i = 0; i < n; i++) {
        if (i === half) items.push(' ...');
        items.push(f.format(d.values[offset + i]));
      }
      const perLine = Math.max(1, Math.floor((LINE_WIDTH - ind) / (f.maxWidth + 2)));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
      return `[${lines.join(`,\n${' '.repeat(ind + 1)}`)}]`;
    }
    const slices: string[] = [];
    for (let i = 0; i < n; i++) {
      if (i === half) slices.push('...');
      slices.push(walk(offset + i * strides[dim], dim + 1, ind + 1));
    }
    const rest = d.shape.length - dim;
    return `[${slices.join(`,${'\n'.repeat(rest - 1)}${' '.repeat(ind + 1)}`)}]`;
  };
  return walk(0, 0, indent);
}

/** Python's repr of the tensor. */
export function formatTensor(d: PrintData): string {
  const prefix = 'tensor(';
  const indent = prefix.length;
  const suffixes: string[] = [];
  if (d.device !== 'cpu') suffixes.push(`device='${d.device}'`);
  const numel = d.fullShape.reduce((a, b) => a * b, 1);
  let text: string;
  if (numel === 0) {
    // an empty tensor shows its size unless 1-d, and any dtype but the default float32
    if (d.fullShape.length !== 1) suffixes.push(`size=(${d.fullShape.join(', ')})`);
    if (d.dtype !== 'float32') suffixes.push(`dtype=torch.${d.dtype}`);
    text = '[]';
  } else {
    if (!['float32', 'int64', 'bool'].includes(d.dtype)) suffixes.push(`dtype=torch.${d.dtype}`);
    text = body(d, indent);
  }
  if (d.gradFn !== null) suffixes.push(`grad_fn=<${d.gradFn}>`);
  else if (d.requiresGrad) suffixes.push('requires_grad=True');
  // torch._tensor_str._add_suffixes, its line-length count included
  let out = prefix + text;
  let last = out.length - out.lastIndexOf('\n') + 1;
  for (const s of suffixes) {
    if (last + s.length + 2 > LINE_WIDTH) {
      out += `,\n${' '.repeat(indent)}${s}`;
      last = indent + s.length;
    } else {
      out += `, ${s}`;
      last += s.length + 2;
    }
  }
  return `${out})`;
}
