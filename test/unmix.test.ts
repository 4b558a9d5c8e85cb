// The Un-Mix policy (lib/ssl/unmix.ts) against hand-computed mixtures, rand_bbox's exact rule
// (spec §5) and the statistics the spec derives from it: recomputed CutMix λ ≈ 0.700 on 32×32 and
// ≈ 0.681 on 224×224 (exact expectations 0.7007 and 0.6822), never below 0.121 nor below the sampled λ.
import * as u from '../lib';
import { Rng } from '../lib/rng';
import {
  Box,
  MixParams,
  UnmixOptions,
  boxLam,
  drawMixParams,
  mixBatch,
  mixWithParams,
  randBbox,
  reverseBatch,
  unmixLoss,
} from '../lib/ssl/unmix';
import { device, values } from './helpers';

/** An Rng whose randint returns given box centres (row first, then column, as randBbox draws them). */
class FixedCentres extends Rng {
  constructor(private readonly centres: number[]) {
    super(0);
  }
  randint(low: number, high: number): number {
    const v = this.centres.shift();
    if (v === undefined || v < low || v >= high) throw new Error(`FixedCentres: no centre for [${low}, ${high})`);
    return v;
  }
}

const batch = (n: number, c: number, h: number, w: number) =>
  u.arange(0, n * c * h * w, 1, { dtype: 'float64', device }).view(n, c, h, w);

describe('mixtures for fixed parameters', () => {
  test('global: λ·x + (1 − λ)·reverse(x); the middle sample of an odd batch mixes with itself', () => {
    const x = batch(3, 1, 2, 2); // x[i] = [4i, 4i+1, 4i+2, 4i+3]
    const m = mixWithParams(x, { kind: 'global', lam: 0.25 });
    expect(m).toMatchObject({ lam: 0.25, kind: 'global' });
    expect(values(m.mixed)).toEqual([6, 7, 8, 9, 4, 5, 6, 7, 2, 3, 4, 5]);
    expect(values(reverseBatch(x))).toEqual([8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3]);
  });

  test('region: the box comes from the reversed batch, every channel, and λ is the own-pixel fraction', () => {
    const [n, c, h, w] = [2, 2, 3, 4];
    const x = batch(n, c, h, w);
    const box: Box = [1, 0, 3, 2]; // rows 1..2, columns 0..1
    const m = mixWithParams(x, { kind: 'region', lam: 0.9, box });
    const src = values(x);
    const expected: number[] = [];
    for (let i = 0; i < n; i++)
      for (let ch = 0; ch < c; ch++)
        for (let r = 0; r < h; r++)
          for (let col = 0; col < w; col++) {
            const inBox = r >= 1 && r < 3 && col >= 0 && col < 2;
            expected.push(src[(((inBox ? n - 1 - i : i) * c + ch) * h + r) * w + col]);
          }
    expect(values(m.mixed)).toEqual(expected);
    expect(m.lam).toBe(1 - 4 / 12);
    expect(m.kind).toBe('region');
    expect(values(x)).toEqual(src.map((_, i) => i)); // the input is not modified
  });

  test('an empty box leaves the images unchanged with λ = 1', () => {
    const x = batch(2, 3, 4, 4);
    for (const box of [
      [2, 1, 2, 3],
      [0, 3, 4, 3],
    ] as Box[]) {
      const m = mixWithParams(x, { kind: 'region', lam: 0.99, box });
      expect(m.mixed.equal(x)).toBe(true);
      expect(m.lam).toBe(1);
    }
    // λ near 1: cut = floor(32·√0.001) = 1, half 0, so rand_bbox itself gives an empty box.
    const box = randBbox([4, 3, 32, 32], 0.999, new FixedCentres([10, 20]));
    expect(box).toEqual([10, 20, 10, 20]);
    expect(boxLam(box, 32, 32)).toBe(1);
  });

  test('unmixLoss is L + λ·L_mix + (1 − λ)·L_mix_reversed', () => {
    const t = (v: number) => u.scalarTensor(v, { dtype: 'float64', device });
    expect(unmixLoss(t(2), t(3), t(5), 0.25).item()).toBe(2 + 0.75 + 3.75);
  });
});

describe('rand_bbox (spec §5)', () => {
  test.each([
    // [size, lam, centre (row, col), box]: lam 0.5 on 32: cut 22, half 11
    [[1, 3, 32, 32], 0.5, [16, 16], [5, 5, 27, 27]],
    [[1, 3, 32, 32], 0.5, [0, 31], [0, 20, 11, 32]],
    [[1, 3, 32, 32], 0.5, [31, 0], [20, 0, 32, 11]],
    // λ → 0: cut 31, half 15, so at most 30×30 of 32×32 is replaced
    [[1, 3, 32, 32], 1e-9, [16, 16], [1, 1, 31, 31]],
    // exactly 0: cut 32, half 16: the only way to replace the whole image
    [[1, 3, 32, 32], 0, [16, 16], [0, 0, 32, 32]],
    // odd cut loses a pixel: 8·√0.45 = 5.37 → cut 5, half 2, box side 4
    [[2, 3, 8, 8], 0.55, [4, 4], [2, 2, 6, 6]],
    // rows use size[2], columns size[3]: cut 4 and 8, halves 2 and 4
    [[1, 1, 8, 16], 0.75, [4, 8], [2, 4, 6, 12]],
  ] as [number[], number, [number, number], Box][])('%j, λ=%d, centre %j → %j', (size, lam, centre, box) => {
    expect(randBbox(size, lam, new FixedCentres([...centre]))).toEqual(box);
  });

  test('centres are uniform over the whole image, row then column, from the given Rng', () => {
    const rng = new Rng(9);
    const twin = new Rng(9);
    for (let i = 0; i < 100; i++) {
      const [a1, b1, a2, b2] = randBbox([1, 3, 8, 16], 0.3, rng);
      const ca = twin.randint(0, 8);
      const cb = twin.randint(0, 16);
      const half = [Math.floor(Math.floor(8 * Math.sqrt(0.7)) / 2), Math.floor(Math.floor(16 * Math.sqrt(0.7)) / 2)];
      expect([a1, b1, a2, b2]).toEqual([
        Math.max(ca - half[0], 0),
        Math.max(cb - half[1], 0),
        Math.min(ca + half[0], 8),
        Math.min(cb + half[1], 16),
      ]);
    }
  });
});

describe('drawing', () => {
  const opts = (prob: number, beta = 1): UnmixOptions => ({ enabled: true, prob, beta });

  test('draw order: r, λ, then the box centre (row, column)', () => {
    const kinds = new Set<string>();
    for (let seed = 0; seed < 30; seed++) {
      const twin = new Rng(seed);
      const r = twin.random();
      const lam = twin.random(); // Beta(1, 1) is one uniform draw
      const expected: MixParams =
        r < 0.5 ? { kind: 'global', lam } : { kind: 'region', lam, box: randBbox([4, 3, 32, 32], lam, twin) };
      expect(drawMixParams([4, 3, 32, 32], opts(0.5), new Rng(seed))).toEqual(expected);
      kinds.add(expected.kind);
    }
    expect(kinds.size).toBe(2);
    const x = u.randn([4, 3, 8, 8], { device });
    const a = mixBatch(x, opts(0.5), new Rng(3));
    const b = mixWithParams(x, drawMixParams(x.shape, opts(0.5), new Rng(3)));
    expect(a.mixed.equal(b.mixed)).toBe(true);
    expect(a.lam).toBe(b.lam);
  });

  function regionStats(size: number, draws: number) {
    const rng = new Rng(size);
    let sum = 0;
    let min = 1;
    let ones = 0;
    let belowSampled = 0;
    for (let i = 0; i < draws; i++) {
      const p = drawMixParams([2, 3, size, size], opts(0), rng);
      const lam = boxLam(p.box!, size, size);
      sum += lam;
      min = Math.min(min, lam);
      if (lam === 1) ones++;
      if (lam < p.lam - 1e-12) belowSampled++;
    }
    return { mean: sum / draws, min, pOne: ones / draws, belowSampled };
  }

  test('recomputed CutMix λ on 32×32 over 200k draws: mean 0.700, min 0.121, P(λ = 1) 0.4%, never below the sampled λ', () => {
    const s = regionStats(32, 200_000);
    expect(Math.abs(s.mean - 0.7)).toBeLessThan(0.005);
    expect(s.min).toBeGreaterThanOrEqual(1 - 900 / 1024); // 0.1211: a 30×30 box at most
    expect(s.min).toBeLessThan(0.13);
    expect(Math.abs(s.pOne - 1 / 256)).toBeLessThan(0.001); // empty box when 32·√(1 − λ) < 2
    expect(s.belowSampled).toBe(0);
  });

  test('recomputed CutMix λ on 224×224: mean 0.681', () => {
    const s = regionStats(224, 100_000);
    expect(Math.abs(s.mean - 0.681)).toBeLessThan(0.005);
    expect(s.belowSampled).toBe(0);
  });

  test.each([0.5, 0.3])('the global mixture is chosen with probability prob = %d', (prob) => {
    const rng = new Rng(Math.round(prob * 100));
    let global = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) if (drawMixParams([2, 3, 32, 32], opts(prob), rng).kind === 'global') global++;
    expect(Math.abs(global / n - prob)).toBeLessThan(0.005);
  });

  test.each([
    [0.5, 1 / 8],
    [1, 1 / 12],
    [2, 1 / 20],
  ])('λ ~ Beta(β, β) with β = %d: mean 1/2, variance 1/(4(2β + 1)) = %d', (beta, variance) => {
    const rng = new Rng(Math.round(beta * 10));
    const n = 200_000;
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const { lam } = drawMixParams([2, 3, 32, 32], opts(1, beta), rng);
      s1 += lam;
      s2 += lam * lam;
    }
    const mean = s1 / n;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(s2 / n - mean * mean - variance)).toBeLessThan(0.003);
  });

  test('bad options and inputs are clear errors', () => {
    const rng = new Rng(0);
    expect(() => drawMixParams([2, 3, 8, 8], opts(1.5), rng)).toThrow(/prob must be in \[0, 1\]/);
    expect(() => drawMixParams([2, 3, 8, 8], opts(0.5, 0), rng)).toThrow(/beta must be > 0/);
    expect(() => mixWithParams(u.zeros([3, 8, 8], { device }), { kind: 'global', lam: 0.5 })).toThrow(
      /expected a batch \[N, C, H, W\]/,
    );
    expect(() => mixWithParams(u.zeros([2, 3, 8, 8], { device }), { kind: 'region', lam: 0.5 })).toThrow(/needs a box/);
  });
});
