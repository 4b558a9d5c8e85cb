// The summary statistics of the learning-parity runner (bench/parity.ts): mean, sample standard
// deviation, and the Welch t interval of a difference of two means.

export function mean(xs: number[]): number {
  if (!xs.length) return NaN;
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n − 1 in the denominator); NaN for fewer than two values. */
export function std(xs: number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

function logGamma(x: number): number {
  // Lanczos (g = 7, n = 9), accurate to ~1e-15 for x > 0.5
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the regularized incomplete beta (Numerical Recipes' betacf). */
function betacf(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a - 1 + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + 1 + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betacf(a, b, x)) / a : 1 - (front * betacf(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with df degrees of freedom (df may be fractional, as Welch's). */
export function studentTCdf(t: number, df: number): number {
  const p = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - p : p;
}

/** The q-quantile of Student's t (bisection on the CDF). */
export function studentTQuantile(q: number, df: number): number {
  if (!(q > 0 && q < 1) || !(df > 0)) return NaN;
  let lo = -1e3;
  let hi = 1e3;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface Welch {
  /** mean(a) − mean(b) */
  diff: number;
  /** the (1 − alpha) interval of the difference */
  low: number;
  high: number;
  /** standard error of the difference */
  se: number;
  /** Welch–Satterthwaite degrees of freedom */
  df: number;
  level: number;
}

/** Welch's t interval for mean(a) − mean(b) (unequal variances); NaN bounds when either side has < 2 values. */
export function welchInterval(a: number[], b: number[], level = 0.95): Welch {
  const diff = mean(a) - mean(b);
  const va = std(a) ** 2 / a.length;
  const vb = std(b) ** 2 / b.length;
  const se = Math.sqrt(va + vb);
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  if (!Number.isFinite(se) || se === 0 || !Number.isFinite(df)) {
    return { diff, low: se === 0 ? diff : NaN, high: se === 0 ? diff : NaN, se, df, level };
  }
  const t = studentTQuantile(1 - (1 - level) / 2, df);
  return { diff, low: diff - t * se, high: diff + t * se, se, df, level };
}
