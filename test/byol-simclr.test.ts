// BYOL and SimCLR (+Un-Mix) against their PyTorch twins (test/fixtures/make_byol_simclr_fixtures.py:
// solo-learn's heads, losses and momentum update, run here with Debian's python3-torch) and closed
// forms. Tolerances: float64; loss terms within 1e-12 relative, gradients and the state after two SGD
// steps (BYOL: and two target updates) within 1e-9 of each tensor's largest value (measured ≤ 1e-12).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
import { Rng } from '../lib/rng';
import { StepContext } from '../lib/ssl/method';
import { BYOL, byolLoss } from '../lib/ssl/byol';
import { crossViewInfoNce, ntXent, SimCLR } from '../lib/ssl/simclr';
import { MixParams } from '../lib/ssl/unmix';
import { device } from './helpers';
import { python, pythonHas } from './support/python';

const hasTorch = pythonHas('torch, torchvision');
const describeWithTorch = hasTorch ? describe : describe.skip;

const TINY = { block: 'basic' as const, layers: [1], stem: 'cifar' as const };
const ctxOf = (iteration: number, rng = new Rng(iteration)): StepContext => ({
  iteration,
  epoch: 0,
  itersPerEpoch: 5,
  totalEpochs: 2,
  rng,
});

function close(what: string, a: u.Tensor, b: u.Tensor, rtol = 1e-9, atol = 1e-14): number {
  expect({ what, shape: a.shape }).toEqual({ what, shape: b.shape });
  const diff = a
    .to({ device: 'cpu', dtype: 'float64' })
    .sub(b.to({ device: 'cpu', dtype: 'float64' }))
    .abs()
    .max()
    .item();
  const scale = b.abs().max().item();
  if (!(diff <= rtol * scale + atol)) throw new Error(`${what}: differs by ${diff} (max |expected| ${scale})`);
  return scale > 1e-10 ? diff / scale : 0; // gradients that are rounding noise (a bias before BN) do not count
}

const views = (n = 4) => [u.randn([n, 3, 8, 8], { device }), u.randn([n, 3, 8, 8], { device })];

describe('closed forms', () => {
  test('BYOL loss: 0 for aligned, 4 for opposite, 2 for orthogonal predictions', () => {
    const p = u.tensor(
      [
        [1, 2, 0],
        [0, -3, 1],
      ],
      { dtype: 'float64', device },
    );
    expect(byolLoss(p, p.mul(5)).item()).toBeCloseTo(0, 12);
    expect(byolLoss(p, p.neg()).item()).toBeCloseTo(4, 12);
    expect(
      byolLoss(
        u.tensor([[1, 0]], { dtype: 'float64', device }),
        u.tensor([[0, 2]], { dtype: 'float64', device }),
      ).item(),
    ).toBeCloseTo(2, 12);
  });

  test('NT-Xent of orthonormal pairs: −log(e^{1/T} / (e^{1/T} + 2N − 2))', () => {
    const T = 0.2;
    const e = u.eye(3, 3, { dtype: 'float64', device });
    const expected = -Math.log(Math.exp(1 / T) / (Math.exp(1 / T) + 4));
    expect(ntXent(e, e.mul(2), T).item()).toBeCloseTo(expected, 12);
    // the mixed term's cross-view InfoNCE: N candidates, so N − 1 negatives
    expect(crossViewInfoNce(e, e, T).item()).toBeCloseTo(-Math.log(Math.exp(1 / T) / (Math.exp(1 / T) + 2)), 12);
    // reversing the anchors of the identity makes the positive orthogonal, except the middle row
    const rev =
      -Math.log(1 / (Math.exp(1 / T) + 2)) * (2 / 3) + (-Math.log(Math.exp(1 / T) / (Math.exp(1 / T) + 2)) * 1) / 3;
    expect(crossViewInfoNce(e.flip(0), e, T).item()).toBeCloseTo(rev, 12);
  });

  test('BYOL target: starts as a copy, never trained, τ_k = 1 − 0.01·(cos(πk/K) + 1)/2 and θt ← τθt + (1 − τ)θo', () => {
    u.manualSeed(3);
    const m = new BYOL({ backbone: TINY, projHiddenDim: 8, projOutputDim: 4, predHiddenDim: 8, device }).to('float64');
    const online = m.backbone.stateDict();
    const target = m.momentumBackbone.stateDict();
    expect(online['conv1.weight'].equal(target['conv1.weight'])).toBe(true);
    expect(m.trainableParameters().length).toBe(
      m.backbone.parameters().length + m.projector.parameters().length + m.predictor.parameters().length,
    );
    expect(m.momentumProjector.parameters().every((p) => !p.requiresGrad)).toBe(true);
    const before = target['conv1.weight'].clone();
    u.noGrad(() => online['conv1.weight'].add_(1));
    m.afterOptimizerStep(ctxOf(0));
    expect(m.lastTau).toBeCloseTo(0.99, 15);
    close('τ = 0.99', target['conv1.weight'], before.add(0.01), 1e-12);
    m.afterOptimizerStep(ctxOf(5));
    expect(m.lastTau).toBeCloseTo(1 - 0.01 * 0.5, 15);
    m.afterOptimizerStep(ctxOf(10));
    expect(m.lastTau).toBe(1);
  });
});

describe('steps without the twin', () => {
  test('bad input and options give clear errors', () => {
    u.manualSeed(0);
    const b = new BYOL({ backbone: TINY, projHiddenDim: 8, projOutputDim: 4, predHiddenDim: 8, device });
    const s = new SimCLR({ backbone: TINY, projHiddenDim: 8, projOutputDim: 4, device });
    expect(() => b.trainingStep([views()[0]], ctxOf(0))).toThrow(/expected 2 views/);
    expect(() =>
      s.trainingStep([u.randn([4, 3, 8, 8], { device }), u.randn([4, 3, 6, 6], { device })], ctxOf(0)),
    ).toThrow(/one shape/);
    expect(() => s.trainingStep(views(1), ctxOf(0))).toThrow(/at least 2 samples/);
    expect(() => b.afterOptimizerStep({ ...ctxOf(0), totalEpochs: 0 })).toThrow(/itersPerEpoch/);
    expect(() => new SimCLR({ temperature: 0 })).toThrow(/temperature/);
    expect(() => new BYOL({ baseTau: 1.5 })).toThrow(/baseTau/);
    expect(() => new BYOL({ projOutputDim: 0 })).toThrow(/projOutputDim/);
  });

  test('Un-Mix off: the loss is the clean term; embed shapes; no tensors leak', () => {
    u.manualSeed(1);
    const unmix = { enabled: false, prob: 0.5, beta: 1 };
    for (const m of [
      new BYOL({ backbone: TINY, projHiddenDim: 8, projOutputDim: 4, predHiddenDim: 8, unmix, device }),
      new SimCLR({ backbone: TINY, projHiddenDim: 8, projOutputDim: 4, unmix, device }),
    ]) {
      const v = views();
      const step = (it: number) => {
        const { loss, logs } = m.trainingStep(v, ctxOf(it));
        expect(logs.loss).toBe(logs.loss_clean);
        expect(logs.lam).toBeUndefined();
        loss.backward();
        m.afterOptimizerStep(ctxOf(it));
        loss.dispose();
        m.zeroGrad();
      };
      step(0);
      const before = u.liveTensors().count;
      step(1);
      step(2);
      expect(u.liveTensors().count).toBe(before);
      expect(m.embed(v[0], 'backbone').shape).toEqual([4, 64]);
      expect(m.embed(v[0], 'projection').shape).toEqual([4, 4]);
    }
  });

  test('Un-Mix on: the loss is clean + λ·mixed + (1 − λ)·reversed, λ from ctx.rng', () => {
    u.manualSeed(2);
    const m = new SimCLR({ backbone: TINY, projHiddenDim: 8, projOutputDim: 4, device });
    const { logs } = m.trainingStep(views(), ctxOf(0, new Rng(9)));
    expect(logs.lam).toBeGreaterThan(0);
    expect(logs.loss).toBeCloseTo(
      logs.loss_clean + logs.lam * logs.loss_mix + (1 - logs.lam) * logs.loss_mix_reversed,
      5,
    );
  });
});

describeWithTorch(
  `parity with the PyTorch twins${hasTorch ? '' : ` (skipped: ${python} has no torch/torchvision)`}`,
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-byol-simclr-'));
    beforeAll(
      () =>
        execFileSync(python, [path.join(__dirname, 'fixtures', 'make_byol_simclr_fixtures.py'), dir], {
          stdio: 'pipe',
        }),
      120000,
    );
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const worst: Record<string, number> = {};

    test.each(['byol', 'byol_plain', 'simclr', 'simclr_plain'])(
      '%s: loss terms, gradients, two SGD steps (BYOL: target updates)',
      (name) => {
        const meta = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
        const e = u.loadTorchFile(path.join(dir, `${name}.pt`), { device }).tensors;
        u.manualSeed(0);
        const isByol = name.startsWith('byol');
        const m = (
          isByol
            ? new BYOL({ backbone: TINY, projHiddenDim: 32, projOutputDim: 16, predHiddenDim: 24, device })
            : new SimCLR({ backbone: TINY, projHiddenDim: 32, projOutputDim: 16, temperature: 0.2, device })
        ).to('float64');
        m.loadStateDict(
          Object.fromEntries(
            Object.entries(e)
              .filter(([k]) => k.startsWith('weights.'))
              .map(([k, t]) => [k.slice(8), t]),
          ),
        );
        const sgd = new u.SGD(m.trainableParameters(), { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
        let rel = 0;
        meta.steps.forEach((step: Record<string, any>, s: number) => {
          const v = [e[`steps.${s}.views.0`], e[`steps.${s}.views.1`]];
          const mix: MixParams | null = step.mix && { kind: step.mix.kind, lam: step.mix.lam, box: step.mix.box };
          const { loss, logs } = m.stepWith(v, mix);
          for (const k of ['loss', 'loss_clean', 'loss_mix', 'loss_mix_reversed', 'lam']) {
            if (step[k] === undefined) continue;
            if (!(Math.abs(logs[k] - step[k]) <= 1e-12 * Math.abs(step[k])))
              throw new Error(`step ${s} ${k}: ${logs[k]} vs ${step[k]}`);
          }
          loss.backward();
          for (const [k, p] of m.namedParameters()) {
            const g = e[`steps.${s}.grads.${k}`];
            if (!g) {
              expect({ k, grad: p.grad }).toEqual({ k, grad: null }); // the target network
              continue;
            }
            rel = Math.max(rel, close(`step ${s} grad ${k}`, p.grad!, g, 1e-9, 1e-12));
          }
          sgd.step();
          m.afterOptimizerStep({ ...ctxOf(step.iteration), itersPerEpoch: 5, totalEpochs: 2 });
          if (isByol) expect((m as BYOL).lastTau).toBeCloseTo(step.tau, 15);
          m.zeroGrad();
        });
        for (const [k, t] of Object.entries(m.stateDict())) {
          if (t.dtype === 'int64') expect({ k, v: t.item() }).toEqual({ k, v: e[`after.${k}`].item() });
          else rel = Math.max(rel, close(`after ${k}`, t, e[`after.${k}`]));
        }
        worst[name] = rel;
        m.dispose();
      },
    );

    afterAll(() => console.log(`BYOL/SimCLR twins: worst relative differences ${JSON.stringify(worst)}`));
  },
);
