// A small seeded random number generator for decisions made in TypeScript: augmentation parameters,
// shuffling, Un-Mix's r/λ/box. Its whole state is four 32-bit words, so a checkpoint can save it and a
// resumed run draws exactly what the uninterrupted run would have drawn.
// Algorithm: xoshiro128** (Blackman & Vigna), seeded through splitmix32.
import * as is from './validate';

export type RngState = [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Mixes a seed and any number of stream ids into one 32-bit seed (for independent sub-streams). */
export function deriveSeed(seed: number, ...streams: number[]): number {
  let h = splitmix32(seed)();
  for (const s of streams) h = splitmix32((h ^ Math.imul(s >>> 0, 0x27d4eb2d)) >>> 0)();
  return h;
}

export class Rng {
  private s: Uint32Array;
  private spareNormal: number | undefined;

  constructor(seed = 0) {
    is.number('Rng', 'seed', seed);
    const next = splitmix32((Math.trunc(seed) >>> 0) ^ Math.trunc(seed / 2 ** 32));
    this.s = new Uint32Array([next(), next(), next(), next()]);
    if (this.s.every((w) => w === 0)) this.s[0] = 1;
  }

  /** A generator for an independent stream derived from `seed` and `streams` (e.g. epoch, view). */
  static derive(seed: number, ...streams: number[]): Rng {
    return new Rng(deriveSeed(seed, ...streams));
  }

  getState(): RngState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }

  setState(state: readonly number[]): void {
    if (
      state.length !== 4 ||
      state.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff) ||
      state.every((w) => w === 0)
    ) {
      throw new Error(`Rng.setState: expected four 32-bit unsigned words, not all zero; got ${JSON.stringify(state)}`);
    }
    this.s.set(state);
    this.spareNormal = undefined;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.random();
  }

  /** Uniform integer in [low, high) (like numpy's randint), without modulo bias. */
  randint(low: number, high: number): number {
    const range = high - low;
    if (!Number.isInteger(low) || !Number.isInteger(high) || range <= 0 || range > 2 ** 32) {
      throw new RangeError(`Rng.randint: need integers low < high with high - low <= 2^32, got [${low}, ${high})`);
    }
    const limit = 2 ** 32 - (2 ** 32 % range);
    let x: number;
    do x = this.nextUint32();
    while (x >= limit);
    return low + (x % range);
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.random() < p;
  }

  /** Standard normal (Box–Muller, polar form). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const v = this.spareNormal;
      this.spareNormal = undefined;
      return v;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.random() - 1;
      v = 2 * this.random() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * f;
    return u * f;
  }

  /** Gamma(shape, 1) (Marsaglia–Tsang). */
  gamma(shape: number): number {
    is.positive('Rng.gamma', 'shape', shape);
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(this.random() || Number.MIN_VALUE, 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number, v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.random();
      if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Beta(a, b). Beta(1, 1) is drawn as a plain uniform. */
  beta(a: number, b: number): number {
    if (!(a > 0) || !(b > 0)) throw new RangeError(`Rng.beta: parameters must be > 0, got (${a}, ${b})`);
    if (a === 1 && b === 1) return this.random();
    const x = this.gamma(a);
    const y = this.gamma(b);
    return x / (x + y);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    is.nonNegativeInt('Rng.permutation', 'n', n);
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.randint(0, i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
