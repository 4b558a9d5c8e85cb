// Batched augmentation against torchvision (test/fixtures/make_augment_fixtures.py, run here with
// Debian's python3-torchvision): each transform with fixed parameters equals torchvision's functional
// transform on float tensors within 5e-6 (float32; measured worst 1e-6, from the crop's sampling grid), and the
// random draws follow torchvision's distributions.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
import * as A from '../lib/data/augment';
import { applyColour, applyPipeline, validatePipeline, Pipeline } from '../lib/data/pipeline';
import * as presets from '../lib/data/presets';
import { drawJitter, resizedCropBox, roundHalfEven } from '../lib/data/sampling';
import { Rng } from '../lib/rng';
import { device } from './helpers';
import { python, pythonHas } from './support/python';

const hasTorchvision = pythonHas('torchvision');
const describeWithTorchvision = hasTorchvision ? describe : describe.skip;

interface Case {
  name: string;
  input: 'small' | 'large';
  index: number;
  params: Record<string, number | number[] | boolean>;
  shape: number[];
  output: number[];
}
interface Fixture {
  inputs: Record<string, { shape: number[]; data: number[] }>;
  cases: Case[];
  stats: {
    height: number;
    width: number;
    scale: [number, number];
    n: number;
    area_mean: number;
    area_std: number;
    logr_mean: number;
    logr_std: number;
  }[];
}

function maxAbsDiff(a: u.Tensor, expected: number[]): number {
  const got = a.to('cpu').float().data() as Float32Array;
  expect(got.length).toBe(expected.length);
  let m = 0;
  for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i] - expected[i]));
  return m;
}

describeWithTorchvision('each transform equals torchvision.transforms.functional with the same parameters', () => {
  let fixture: Fixture;
  const inputs: Record<string, u.Tensor> = {};
  beforeAll(() => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-aug-')), 'aug.json');
    execFileSync(python, [path.join(__dirname, 'fixtures', 'make_augment_fixtures.py'), out]);
    fixture = JSON.parse(fs.readFileSync(out, 'utf8'));
    for (const [k, v] of Object.entries(fixture.inputs))
      inputs[k] = u.tensor(Float32Array.from(v.data), { shape: v.shape, device });
  });

  const run = (c: Case): u.Tensor => {
    const x = inputs[c.input].narrow(0, c.index, 1);
    const p = c.params as Record<string, number>;
    if (c.name.startsWith('resized_crop'))
      return A.resizedCrop(x, [{ top: p.top, left: p.left, height: p.height, width: p.width }], p.outH, p.outW, [
        Boolean(c.params.flip),
      ]);
    if (c.name.startsWith('brightness')) return A.adjustBrightness(x, [p.factor]);
    if (c.name.startsWith('contrast')) return A.adjustContrast(x, [p.factor]);
    if (c.name.startsWith('saturation')) return A.adjustSaturation(x, [p.factor]);
    if (c.name.startsWith('hue')) return A.adjustHue(x, [p.factor]);
    if (c.name.startsWith('grayscale')) return A.grayscale(x);
    if (c.name.startsWith('blur')) return A.gaussianBlur(x, p.kernelSize, [p.sigma]);
    if (c.name.startsWith('solarize')) return A.solarize(x, p.threshold);
    if (c.name === 'normalize') return A.normalize(x, c.params.mean as number[], c.params.std as number[]);
    if (c.name === 'jitter_order') {
      // applyColour with a jitter whose draws are forced to the fixture's order and factors
      const step: Pipeline = [{ op: 'colorJitter', brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 1 }];
      const rng = new Rng(1);
      const forced = {
        order: Int32Array.from(c.params.order as number[]),
        brightness: p.brightness,
        contrast: p.contrast,
        saturation: p.saturation,
        hue: p.hue,
      };
      return applyColour(x, step, rng, { jitter: () => forced });
    }
    throw new Error(`no runner for ${c.name}`);
  };

  test('every case within 5e-6', () => {
    const worst: Record<string, number> = {};
    for (const c of fixture.cases) {
      const diff = u.scope(() => maxAbsDiff(run(c), c.output));
      worst[c.name] = diff;
    }
    expect(Object.keys(worst).length).toBe(fixture.cases.length);
    console.log(`worst |diff| per case: ${JSON.stringify(worst)}`);
    for (const [name, diff] of Object.entries(worst)) {
      if (diff > 5e-6) throw new Error(`${name}: max |diff| ${diff}`);
    }
  });

  test('a batch with different parameters per sample equals the samples done one by one', () => {
    const x = inputs.small;
    const factors = [0.7, 1.2, 0.95, 1.4];
    const hues = [-0.1, 0.02, 0.09, 0];
    const sigmas = [0.3, 1.1, 2, 0.7];
    for (const [batched, single] of [
      [() => A.adjustContrast(x, factors), (i: number) => A.adjustContrast(x.narrow(0, i, 1), [factors[i]])],
      [() => A.adjustHue(x, hues), (i: number) => A.adjustHue(x.narrow(0, i, 1), [hues[i]])],
      [() => A.gaussianBlur(x, 5, sigmas), (i: number) => A.gaussianBlur(x.narrow(0, i, 1), 5, [sigmas[i]])],
    ] as const) {
      u.scope(() => {
        const all = batched();
        for (let i = 0; i < 4; i++) expect(all.narrow(0, i, 1).sub(single(i)).abs().max().item()).toBeLessThan(1e-6);
      });
    }
  });

  test('RandomResizedCrop boxes have torchvision’s area and aspect statistics', () => {
    const rng = new Rng(7);
    for (const s of fixture.stats) {
      const area: number[] = [];
      const logr: number[] = [];
      let outside = 0;
      for (let i = 0; i < s.n; i++) {
        const b = resizedCropBox(rng, s.height, s.width, s.scale, [3 / 4, 4 / 3]);
        if (b.top < 0 || b.left < 0 || b.top + b.height > s.height || b.left + b.width > s.width) outside++;
        area.push((b.height * b.width) / (s.height * s.width));
        logr.push(Math.log(b.width / b.height));
      }
      expect(outside).toBe(0);
      const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
      const std = (v: number[]) => Math.sqrt(mean(v.map((x) => (x - mean(v)) ** 2)));
      // two independent samples of n: the means differ by < 5 standard errors of their difference
      const se = (sd: number) => 5 * sd * Math.sqrt(2 / s.n);
      expect(Math.abs(mean(area) - s.area_mean)).toBeLessThan(se(s.area_std));
      expect(Math.abs(mean(logr) - s.logr_mean)).toBeLessThan(se(s.logr_std));
      expect(Math.abs(std(area) - s.area_std)).toBeLessThan(0.05 * s.area_std);
      expect(Math.abs(std(logr) - s.logr_std)).toBeLessThan(0.05 * s.logr_std);
    }
  });
});

test('round half to even, as Python rounds', () => {
  expect([0.5, 1.5, 2.5, 3.5, 2.4, 2.6, 7].map(roundHalfEven)).toEqual([0, 2, 2, 4, 2, 3, 7]);
});

test('the centre-crop fallback when no try fits (torchvision’s rule)', () => {
  // scale > 1 never fits in ten tries: a 10x40 image (ratio 4) is cropped to 10x13 (4/3 · 10 = 13.3 → 13), centred
  const box = resizedCropBox(new Rng(0), 10, 40, [2, 3], [3 / 4, 4 / 3]);
  expect(box).toEqual({ top: 0, left: 13, height: 10, width: 13 });
  const tall = resizedCropBox(new Rng(0), 40, 10, [2, 3], [3 / 4, 4 / 3]);
  expect(tall).toEqual({ top: 13, left: 0, height: 13, width: 10 }); // 10 / (3/4) = 13.3 → 13; (40 − 13) // 2 = 13
});

test('ColorJitter draws: factors in range, every order equally likely', () => {
  const rng = new Rng(3);
  const n = 20000;
  const atFirst = [0, 0, 0, 0];
  let bSum = 0;
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const d = drawJitter(rng, { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 });
    if (!(
      d.brightness! >= 0.6 &&
      d.brightness! < 1.4 &&
      Math.abs(d.hue!) <= 0.1 &&
      [...d.order].sort().join() === '0,1,2,3'
    ))
      bad++;
    atFirst[d.order[0]]++;
    bSum += d.brightness!;
  }
  expect(bad).toBe(0);
  for (const c of atFirst) expect(Math.abs(c / n - 0.25)).toBeLessThan(0.015);
  expect(Math.abs(bSum / n - 1)).toBeLessThan(0.01);
  expect(drawJitter(rng, { brightness: 0, contrast: 0.4, saturation: 0, hue: 0 }).brightness).toBeNull();
});

test('probabilities: grayscale 0.2, flip 0.5, jitter 0.8 of the samples', () => {
  const n = 4000;
  u.scope(() => {
    u.manualSeed(0);
    // distinct colours per sample so grayscale and jitter are detectable
    const images = u.rand([n, 3, 4, 4], { device }).mul(255).to('uint8');
    const x = images.float().div(255);
    const gray = applyColour(x, [{ op: 'grayscale', p: 0.2 }], new Rng(11));
    const isGray = Boolean(gray.select(1, 0).eq(gray.select(1, 1)).all().item());
    expect(isGray).toBe(false);
    const grayFraction = gray.select(1, 0).sub(gray.select(1, 2)).abs().amax([1, 2]).eq(0).float().mean().item();
    expect(Math.abs(grayFraction - 0.2)).toBeLessThan(0.03);
    const jittered = applyColour(
      x,
      [{ op: 'colorJitter', brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 }],
      new Rng(12),
    );
    const changed = jittered.sub(x).abs().amax([1, 2, 3]).gt(0).float().mean().item();
    expect(Math.abs(changed - 0.8)).toBeLessThan(0.03);
    const flipped = applyPipeline(images, [{ op: 'horizontalFlip', p: 0.5 }], new Rng(13));
    const same = flipped.sub(x).abs().amax([1, 2, 3]).eq(0).float().mean().item();
    expect(Math.abs(1 - same - 0.5)).toBeLessThan(0.03);
  });
});

test('the MoCo CIFAR preset: shapes, dtype, device, normalisation, determinism from the seed', () => {
  u.scope(() => {
    u.manualSeed(1);
    const images = u.rand([16, 3, 32, 32], { device }).mul(255).to('uint8');
    const [spec] = presets.mocoCifar();
    validatePipeline(spec.pipeline);
    const a = applyPipeline(images, spec.pipeline, new Rng(5));
    const b = applyPipeline(images, spec.pipeline, new Rng(5));
    const c = applyPipeline(images, spec.pipeline, new Rng(6));
    expect(a.shape).toEqual([16, 3, 32, 32]);
    expect(a.dtype).toBe('float32');
    expect(a.device).toBe(images.device);
    expect(a.sub(b).abs().max().item()).toBe(0);
    expect(c.sub(a).abs().max().item()).toBeGreaterThan(0.1);
    // values are normalised [0, 1] pixels
    const lo = (0 - 0.4914) / 0.2023;
    const hi = (1 - 0.4465) / 0.201;
    expect(a.min().item()).toBeGreaterThanOrEqual(lo - 1e-4);
    expect(a.max().item()).toBeLessThanOrEqual(hi + 1e-4);
  });
});

test('every preset validates and runs (multi-crop sizes, ImageNet eval resize and centre crop)', () => {
  u.scope(() => {
    const images = u.rand([2, 3, 64, 80], { device }).mul(255).to('uint8');
    for (const [name, make] of Object.entries(presets.PRESETS)) {
      for (const view of make({})) {
        validatePipeline(view.pipeline);
        const out = applyPipeline(images, view.pipeline, new Rng(1));
        expect([name, out.shape.slice(0, 2)]).toEqual([name, [2, 3]]);
      }
    }
    const evalOut = applyPipeline(
      u.rand([2, 3, 300, 400], { device }).mul(255).to('uint8'),
      presets.evalImagenet(),
      new Rng(0),
    );
    expect(evalOut.shape).toEqual([2, 3, 224, 224]);
  });
});

test('bad pipelines are refused with the step named', () => {
  expect(() => validatePipeline([{ op: 'grayscale', p: 2 }])).toThrow(/step 0 \(grayscale\): p must be in \[0, 1\]/);
  expect(() => validatePipeline([{ op: 'randomResizedCrop', size: 32, scale: [0.5, 0.2] }])).toThrow(/scale/);
  expect(() => validatePipeline([{ op: 'gaussianBlur', kernelSize: 4, sigma: [0.1, 2] }])).toThrow(/odd/);
  expect(() =>
    validatePipeline([
      { op: 'grayscale', p: 0.2 },
      { op: 'randomResizedCrop', size: 8 },
    ]),
  ).toThrow(/before colour steps/);
  expect(() => validatePipeline([{ op: 'sharpen' } as never])).toThrow(/unknown step/);
  expect(() =>
    A.resizedCrop(u.zeros([1, 3, 8, 8], { device }), [{ top: 4, left: 0, height: 5, width: 2 }], 4, 4),
  ).toThrow(/outside the 8x8 image/);
});
