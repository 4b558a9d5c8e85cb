// LARC and the schedules against their closed forms (apex LARC; the MoCo demo's and SwAV's
// schedules as the spec writes them; tolerance 1e-6 relative on float32 values), SGD's
// per-parameter loop against its closed form, and SGD's foreach kernels against that loop.
import * as u from '../lib';
import { device } from './helpers';

const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

/** One LARC + SGD(momentum 0, first step) update of w with gradient g, computed by hand. */
function larcByHand(
  w: number[],
  g: number[],
  o: { lr: number; wd: number; eta: number; clip: boolean; exclude?: boolean },
): number[] {
  const wn = norm(w);
  const gn = norm(g);
  let d = g;
  if (wn !== 0 && gn !== 0) {
    let a = (o.eta * wn) / (gn + o.wd * wn + 1e-8);
    if (o.clip) a = Math.min(a / o.lr, 1);
    d = g.map((gi, i) => (gi + o.wd * w[i]) * a);
  }
  return w.map((wi, i) => wi - o.lr * d[i]);
}

function larcStep(
  w: number[],
  g: number[],
  shape: number[],
  o: { lr: number; wd: number; eta: number; clip: boolean; exclude?: boolean },
) {
  const p = u.tensor(new Float64Array(w), { shape, device, requiresGrad: true });
  p.grad = u.tensor(new Float64Array(g), { shape, device });
  const opt = new u.LARC(new u.SGD([p], { lr: o.lr, weightDecay: o.wd }), {
    trustCoefficient: o.eta,
    clip: o.clip,
    excludeBiasAndNorm: o.exclude,
  });
  opt.step();
  expect(opt.paramGroups[0].weightDecay).toBe(o.wd); // restored after the step
  return Array.from(p.data() as Float64Array);
}

const close = (a: number[], b: number[]) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 10));

describe('LARC', () => {
  const w = [0.5, -1.5, 2.0, 0.25];
  const g = [0.01, 0.02, -0.03, 0.005];

  test('clip=false (SwAV CIFAR): g ← (g + wd·w)·η‖w‖/(‖g‖ + wd‖w‖ + eps)', () => {
    const o = { lr: 0.6, wd: 1e-6, eta: 0.001, clip: false };
    close(larcStep(w, g, [2, 2], o), larcByHand(w, g, o));
  });

  test('clip=true: the rate is min(a/lr, 1)', () => {
    const small = { lr: 0.1, wd: 1e-4, eta: 0.02, clip: true }; // a/lr < 1
    close(larcStep(w, g, [2, 2], small), larcByHand(w, g, small));
    const big = { lr: 1e-6, wd: 1e-4, eta: 0.02, clip: true }; // clipped to 1: plain SGD with weight decay
    close(
      larcStep(w, g, [2, 2], big),
      w.map((wi, i) => wi - 1e-6 * (g[i] + 1e-4 * wi)),
    );
  });

  test('a zero weight or gradient norm skips adaptation and weight decay', () => {
    const o = { lr: 0.5, wd: 0.1, eta: 0.001, clip: false };
    close(
      larcStep([0, 0, 0, 0], g, [4], o),
      g.map((gi) => -0.5 * gi),
    );
    close(larcStep(w, [0, 0, 0, 0], [4], o), w);
  });

  test('excludeBiasAndNorm leaves 1-d parameters to plain SGD without weight decay', () => {
    const o = { lr: 0.5, wd: 0.1, eta: 0.001, clip: false, exclude: true };
    close(
      larcStep(w, g, [4], o),
      w.map((wi, i) => wi - 0.5 * g[i]),
    );
    close(larcStep(w, g, [2, 2], o), larcByHand(w, g, { ...o, exclude: false }));
  });
});

describe('schedules', () => {
  test('MoCo demo: per-epoch cosine, 1-indexed', () => {
    const lr = u.cosineLr(0.06, 1000);
    expect(lr(1)).toBeCloseTo(0.06 * 0.5 * (1 + Math.cos(Math.PI / 1000)), 12);
    expect(lr(1)).toBeLessThan(0.06);
    expect(lr(500)).toBeCloseTo(0.03, 12);
    expect(lr(1000)).toBeCloseTo(0, 12);
  });

  test('step schedule', () => {
    const lr = u.stepLr(30, [60, 80]);
    expect([lr(0), lr(59), lr(60), lr(79), lr(80), lr(99)].map((v) => +v.toPrecision(6))).toEqual([
      30, 30, 3, 3, 0.3, 0.3,
    ]);
  });

  test('SwAV: linear warmup (np.linspace, ends included), then cosine to final_lr', () => {
    const s = u.warmupCosineLr({
      baseLr: 0.6,
      finalLr: 0.0006,
      startWarmup: 0,
      warmupEpochs: 5,
      epochs: 400,
      itersPerEpoch: 390,
    });
    expect(s.length).toBe(400 * 390);
    expect(s[0]).toBe(0);
    expect(s[1]).toBeCloseTo(0.6 / (5 * 390 - 1), 15);
    expect(s[5 * 390 - 1]).toBeCloseTo(0.6, 15);
    expect(s[5 * 390]).toBeCloseTo(0.6, 15);
    const t = 1000;
    const total = 395 * 390;
    expect(s[5 * 390 + t]).toBeCloseTo(0.0006 + 0.5 * (0.6 - 0.0006) * (1 + Math.cos((Math.PI * t) / total)), 15);
    expect(s[s.length - 1]).toBeGreaterThan(0.0006);
    expect(s[s.length - 1]).toBeLessThan(0.00061);
  });

  test('BYOL momentum rises from τ_base to 1', () => {
    const tau = u.cosineMomentum(0.99, 1000);
    expect(tau(0)).toBeCloseTo(0.99, 12);
    expect(tau(500)).toBeCloseTo(0.995, 12);
    expect(tau(1000)).toBeCloseTo(1, 12);
  });

  test('setLr changes every group', () => {
    const opt = new u.SGD([{ params: [] }, { params: [], lr: 0.5 }], { lr: 0.1 });
    u.setLr(opt, 0.02);
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.02, 0.02]);
  });
});

describe('SGD foreach (speed option)', () => {
  // Three steps of every branch (weight decay, momentum with its first-step clone, dampening,
  // Nesterov), with foreach kernels and with torch.optim.SGD's per-parameter loop.
  const run = (foreach: boolean, options: Partial<u.SGDOptions>) => {
    u.manualSeed(1);
    const params = [
      u.randn([3, 2], { device, dtype: 'float64', requiresGrad: true }),
      u.randn([4], { device, dtype: 'float64', requiresGrad: true }),
    ];
    const opt = new u.SGD(params, { lr: 0.1, ...options, foreach });
    for (let step = 0; step < 3; step++) {
      opt.zeroGrad();
      params[0].mul(params[0]).sum().add(params[1].pow(3).sum()).backward();
      opt.step();
    }
    return params.map((p) => p.toArray() as unknown);
  };
  test.each([
    ['plain', {}],
    ['momentum, dampening, weight decay', { momentum: 0.9, dampening: 0.1, weightDecay: 1e-2 }],
    ['Nesterov', { momentum: 0.9, nesterov: true, weightDecay: 5e-4 }],
  ])('%s: the same parameters either way', (_name, options) => {
    expect(run(false, options)).toEqual(run(true, options));
  });

  test('the per-parameter loop follows the closed form', () => {
    // p = 1, g = 2p (loss p²), lr 0.1, momentum 0.5, wd 0.1: d = g + 0.1p; buf1 = d; buf2 = 0.5·buf1 + d
    const p = u.tensor([1], { device, dtype: 'float64', requiresGrad: true });
    const opt = new u.SGD([p], { lr: 0.1, momentum: 0.5, weightDecay: 0.1, foreach: false });
    let expected = 1;
    let buf = 0;
    for (let step = 0; step < 2; step++) {
      opt.zeroGrad();
      p.mul(p).sum().backward();
      opt.step();
      const d = 2 * expected + 0.1 * expected;
      buf = step === 0 ? d : 0.5 * buf + d;
      expected -= 0.1 * buf;
    }
    expect(p.item()).toBeCloseTo(expected, 12);
  });
});
