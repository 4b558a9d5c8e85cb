// SwAV (+Un-Mix) and its Sinkhorn against the PyTorch twin (test/fixtures/make_swav_fixtures.py: copies
// of the reference main_swav_unmix.py files and apex LARC, run here with Debian's python3-torch), plus
// closed-form properties. Tolerances: float64 training cases agree within 1e-9 relative to each
// tensor's largest value (measured here: ≤ 5e-13; losses within 1e-12 relative); on CPU, Sinkhorn on
// the same float32/float64 input is bit-identical to the literal copy, except the float64 old one
// (the reference builds r and c in float32) within 1e-13 (measured 2.4e-16).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
import { Rng } from '../lib/rng';
import { StepContext } from '../lib/ssl/method';
import { shootInfs, sinkhornNew, sinkhornOld, swavCodes } from '../lib/ssl/sinkhorn';
import { drawSwavMixChoices, effectiveQueueLength, SwAV, SwavOptions } from '../lib/ssl/swav';
import { boxLam, randBbox } from '../lib/ssl/unmix';
import { device, values } from './helpers';
import { python, pythonHas } from './support/python';

const hasTorch = pythonHas('torch, torchvision');
const describeWithTorch = hasTorch ? describe : describe.skip;

/** A stand-in for Rng that returns the twin's scripted draws in order (r, λ, box centres). */
function scripted(draws: number[]): Rng {
  const queue = [...draws];
  const next = () => {
    if (!queue.length) throw new Error('scripted rng: out of draws');
    return queue.shift()!;
  };
  return {
    random: next,
    beta: () => next(),
    randint: (lo: number, hi: number) => {
      const v = next();
      if (v < lo || v >= hi) throw new Error(`scripted draw ${v} outside [${lo}, ${hi})`);
      return v;
    },
    left: () => queue.length,
  } as unknown as Rng;
}

function ctxOf(iteration: number, epoch: number, rng: Rng = new Rng(0)): StepContext {
  return { iteration, epoch, itersPerEpoch: 10, totalEpochs: 2, rng };
}

/** max |a − b| ≤ rtol · max |b| + atol, with the numbers in the message when not. */
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

/** CPU runs the twin's kernels, so same-input Sinkhorn results are bit-identical; CUDA reduces in another order. */
const EXACT32 = device === 'cpu' ? 0 : 1e-6;
const EXACT64 = device === 'cpu' ? 0 : 1e-13;

const TINY = { block: 'bottleneck' as const, layers: [1], baseWidth: 8 };

test('the full CIFAR model has the spec parameter count; queue 120 with batch 128 rounds to no queue', () => {
  const m = new SwAV();
  expect(m.numParameters()).toBe(15_067_072);
  expect(m.backbone.featureDim).toBe(2048);
  expect(m.queueSize).toBe(0);
  expect(m.queue).toBeNull();
  expect(m.prototypes.weight.shape).toEqual([100, 128]);
  m.dispose();
});

test("the ImageNet preset: ResNet-50, 2048-wide head, 3000 prototypes (the reference model's count), queue 3840", () => {
  const m = new SwAV({ variant: 'imagenet' });
  expect(m.numParameters()).toBe(28_354_752); // src/resnet50.py resnet50(hidden_mlp=2048, output_dim=128, nmb_prototypes=3000)
  expect(m.queueSize).toBe(3840);
  expect(m.queue!.shape).toEqual([2, 3840, 128]);
  expect(m.options.sinkhorn).toBe('new');
  m.dispose();
});

test('queue-length rounding rule', () => {
  expect(effectiveQueueLength(120, 128)).toBe(0);
  expect(effectiveQueueLength(3840, 256)).toBe(3840);
  expect(effectiveQueueLength(3840, 64, 4)).toBe(3840);
  expect(effectiveQueueLength(100, 32)).toBe(96);
  expect(() => effectiveQueueLength(-1, 8)).toThrow(/queueLength/);
  expect(() => effectiveQueueLength(8, 0)).toThrow(/batchSize/);
});

describe('Un-Mix draws', () => {
  test('global: one λ for every pair, no boxes', () => {
    const c = drawSwavMixChoices(
      [
        [4, 3, 8, 8],
        [4, 3, 8, 8],
      ],
      { enabled: true, prob: 1, beta: 1 },
      new Rng(3),
    );
    expect(c.kind).toBe('global');
    expect(c.boxes).toBeUndefined();
  });

  test("region: each pair's box is drawn from the λ the previous pair left (the reference overwrites λ)", () => {
    const shapes = [
      [4, 3, 16, 16],
      [4, 3, 16, 16],
      [4, 3, 8, 8],
      [4, 3, 8, 8],
      [4, 3, 8, 8],
      [4, 3, 8, 8],
    ];
    for (let seed = 0; seed < 20; seed++) {
      const c = drawSwavMixChoices(shapes, { enabled: true, prob: 0, beta: 1 }, new Rng(seed));
      // replay with the same stream: r, λ, then a box per pair from the running λ
      const replay = new Rng(seed);
      replay.random();
      let lam = replay.beta(1, 1);
      expect(c.lam).toBe(lam);
      const boxes = [0, 2, 4].map((k) => {
        const box = randBbox(shapes[k], lam, replay);
        lam = boxLam(box, shapes[k][2], shapes[k][3]);
        return box;
      });
      expect(c.boxes).toEqual(boxes);
    }
  });

  test('bad options are refused', () => {
    expect(() => drawSwavMixChoices([[2, 3, 4, 4]], { enabled: true, prob: 2, beta: 1 }, new Rng(0))).toThrow(/prob/);
    expect(() => drawSwavMixChoices([[2, 3, 4, 4]], { enabled: true, prob: 0.5, beta: 0 }, new Rng(0))).toThrow(/beta/);
  });
});

describe('Sinkhorn: closed-form properties', () => {
  const scores = () => {
    u.manualSeed(11);
    return u
      .normalize(u.randn([12, 16], { dtype: 'float64', device }))
      .mm(u.normalize(u.randn([10, 16], { dtype: 'float64', device })).t());
  };

  test('codes are rows summing to 1; with many iterations each prototype gets B/K of the mass', () => {
    const s = scores();
    for (const variant of ['old', 'new'] as const) {
      const q3 = swavCodes(s, { variant, epsilon: 0.05, iterations: 3 });
      expect(q3.shape).toEqual([12, 10]);
      close(`${variant}: rows`, q3.sum(1), u.ones([12], { dtype: 'float64', device }), 1e-13);
      expect(q3.min().item()).toBeGreaterThanOrEqual(0);
      const q = swavCodes(s, { variant, epsilon: 0.05, iterations: 300 });
      close(`${variant}: prototype marginals`, q.sum(0), u.full([10], 12 / 10, { dtype: 'float64', device }), 1e-9);
    }
  });

  test('old and new agree; a constant shift of the scores changes nothing', () => {
    const s = scores();
    const old = swavCodes(s, { variant: 'old', epsilon: 0.05, iterations: 3 });
    close('old vs new', old, swavCodes(s, { variant: 'new', epsilon: 0.05, iterations: 3 }), 1e-12);
    close('shifted', swavCodes(s.add(0.3), { variant: 'old', epsilon: 0.05, iterations: 3 }), old, 1e-12);
    close(
      'stability flag',
      swavCodes(s, { variant: 'old', epsilon: 0.05, iterations: 3, improveNumericalStability: true }),
      old,
      1e-12,
    );
  });

  test('shoot_infs: ±inf become the max of the rest; the input of sinkhorn is not modified', () => {
    const t = u.tensor([1, Infinity, -3, -Infinity, 2.5], { device });
    shootInfs(t);
    expect(values(t)).toEqual([1, 2.5, -3, 2.5, 2.5]);
    const q = u.tensor(
      [
        [1, Infinity],
        [2, 3],
      ],
      { dtype: 'float64', device },
    );
    sinkhornOld(q, 3);
    expect(values(q)).toEqual([1, Infinity, 2, 3]);
  });

  test('the all-reduce hook sees the reduced values (one process: identity)', () => {
    const seen: string[] = [];
    const s = scores();
    const a = sinkhornOld(s.div(0.05).exp().t(), 3, { allReduce: (t, op) => seen.push(`${op}:${t.numel()}`) });
    expect(seen).toEqual(['sum:1', 'sum:10', 'sum:10', 'sum:10']);
    close('hooked', a, sinkhornOld(s.div(0.05).exp().t(), 3), 0);
  });

  test('bad input', () => {
    expect(() => sinkhornOld(u.ones([3], { device }), 3)).toThrow(/2-d/);
    expect(() => sinkhornNew(u.ones([3, 2], { device }), 0, 3)).toThrow(/epsilon/);
    expect(() => sinkhornNew(u.ones([3, 2], { dtype: 'int64', device }), 0.05, 3)).toThrow(/floating/);
  });
});

describe('SwAV: steps without the twin', () => {
  const make = (o: Partial<SwavOptions> & { variant?: 'cifar' | 'imagenet' } = {}) => {
    u.manualSeed(1);
    return new SwAV({
      backbone: { ...TINY, stem: 'swav-cifar' },
      hiddenMlp: 16,
      featDim: 8,
      nPrototypes: 6,
      batchSize: 4,
      device,
      ...o,
    });
  };
  const views = (n: number, b = 4, s = 8) => Array.from({ length: n }, () => u.randn([b, 3, s, s], { device }));

  test('bad views and choices give clear errors', () => {
    const m = make();
    const ctx = ctxOf(0, 0);
    expect(() => m.trainingStep([u.randn([4, 3, 8, 8], { device })], ctx)).toThrow(/at least 2 crops/);
    expect(() => m.trainingStep([...views(2), u.randn([4, 3, 8, 8], { device })], ctx)).toThrow(/in pairs/);
    expect(() => m.trainingStep([u.randn([4, 3, 8, 8], { device }), u.randn([3, 3, 8, 8], { device })], ctx)).toThrow(
      /crop 1 has shape/,
    );
    expect(() => m.stepWith(views(2), { kind: 'region', lam: 0.5 }, ctx)).toThrow(/one box per crop pair/);
    expect(() => make({ cropsForAssign: [0, 3] }).trainingStep(views(2), ctx)).toThrow(/cropsForAssign names crop 3/);
    expect(() => make({ temperature: 0 })).toThrow(/temperature/);
    const q = make({ queueLength: 8, epochQueueStarts: 0 });
    expect(q.queueSize).toBe(8);
    expect(() => q.trainingStep(views(2, 2), ctx)).toThrow(/rounded for batchSize 4/);
  });

  test('prototypes: normalized at every step, gradients dropped while frozen', () => {
    const m = make({ freezePrototypesIters: 1 });
    for (const it of [0, 1]) {
      const { loss } = m.trainingStep(views(2), ctxOf(it, 0, new Rng(it)));
      close('unit rows', m.prototypes.weight.norm(2, 1), u.ones([6], { device }), 1e-6);
      loss.backward();
      m.beforeOptimizerStep(ctxOf(it, 0));
      expect(m.prototypes.weight.grad === null).toBe(it === 0);
      m.zeroGrad();
    }
  });

  test('reference names: the trunk at the top level both ways, the queue left out; a dict that does not fit is refused', () => {
    const trained = make({ queueLength: 8, epochQueueStarts: 0 });
    const ref = trained.referenceStateDict();
    const keys = Object.keys(ref);
    expect(keys).toEqual(
      expect.arrayContaining(['conv1.weight', 'bn1.running_mean', 'projection_head.0.weight', 'prototypes.weight']),
    );
    expect(keys.filter((k) => k.startsWith('backbone.') || k === 'queue')).toEqual([]);
    const fresh = make({ queueLength: 8, epochQueueStarts: 0 });
    u.noGrad(() => fresh.parameters().forEach((p) => p.zero_()));
    fresh.loadReferenceStateDict(ref);
    for (const [k, t] of Object.entries(trained.stateDict()))
      if (k !== 'queue') expect(values(fresh.stateDict()[k])).toEqual(values(t));
    u.noGrad(() => fresh.parameters().forEach((p) => p.zero_()));
    const { 'prototypes.weight': _dropped, ...partial } = ref;
    expect(() => fresh.loadReferenceStateDict(partial)).toThrow(
      /does not fit \(missing: prototypes.weight; unexpected: none\)/,
    );
    expect(() => fresh.loadReferenceStateDict({ ...ref, 'backbone.conv1.weight': ref['conv1.weight'] })).toThrow(
      /unexpected: backbone.backbone.conv1.weight/,
    );
    expect(() => fresh.loadReferenceStateDict({ ...ref, 'conv1.weight': u.zeros([1], { device }) })).toThrow(
      /conv1.weight: expected/,
    );
    expect(fresh.parameters().every((p) => p.abs().sum().item() === 0)).toBe(true); // refused: nothing copied
  });

  test('embed: 256-d backbone features and unit 8-d projections', () => {
    const m = make();
    const x = views(1)[0];
    expect(m.embed(x, 'backbone').shape).toEqual([4, 256]);
    close('unit', m.embed(x, 'projection').norm(2, 1), u.ones([4], { device }), 1e-6);
  });

  test('no tensors leak across steps (queue on, multi-crop with two resolutions)', () => {
    const m = make({
      queueLength: 8,
      epochQueueStarts: 0,
      variant: 'imagenet',
      backbone: { ...TINY, stem: 'imagenet' },
      hiddenMlp: 16,
      featDim: 8,
      nPrototypes: 6,
      batchSize: 4,
    });
    const crops = [...views(2, 4, 16), ...views(4, 4, 8)];
    const rng = new Rng(5);
    const step = (it: number) => {
      const { loss, logs } = m.trainingStep(crops, ctxOf(it, 0, rng));
      loss.backward();
      loss.dispose();
      m.zeroGrad();
      return logs;
    };
    step(0);
    const before = u.liveTensors().count;
    for (let it = 1; it < 4; it++) expect(step(it).queue_used).toBe(1);
    expect(u.liveTensors().count).toBe(before);
  });
});

describeWithTorch(
  `parity with the PyTorch twin${hasTorch ? '' : ` (skipped: ${python} has no torch/torchvision)`}`,
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-swav-'));
    beforeAll(
      () => execFileSync(python, [path.join(__dirname, 'fixtures', 'make_swav_fixtures.py'), dir], { stdio: 'pipe' }),
      120000,
    );
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const worst: Record<string, number> = {};

    test('Sinkhorn: identical to the literal copies (float32 old with .float(), ±inf; new; float64)', () => {
      const e = u.loadTorchFile(path.join(dir, 'sinkhorn.pt'), { device }).tensors;
      const s = e.scores;
      close('old f32', swavCodes(s.float(), { variant: 'old', epsilon: 0.05, iterations: 3 }), e.old_f32, EXACT32, 0);
      close('old ±inf f32', sinkhornOld(e.Q_inf, 3), e.old_inf_f32, EXACT32, 0);
      close('new f32', sinkhornNew(s.float(), 0.05, 3), e.new_f32, EXACT32, 0);
      close('new f64', sinkhornNew(s, 0.05, 3), e.new_f64, EXACT64, 0);
      worst.sinkhorn_old_f64 = close(
        'old f64',
        swavCodes(s, { variant: 'old', epsilon: 0.05, iterations: 3 }),
        e.old_f64,
        1e-13,
      );
      close(
        'old f64, 200 iterations',
        swavCodes(s, { variant: 'old', epsilon: 0.05, iterations: 200 }),
        e.old_f64_200,
        1e-12,
      );
      close('shoot_infs', shootInfs(e.u_inf.clone()), e.shoot_u, 0, 0);
    });

    const cases = ['cifar_global', 'cifar_region_queue', 'cifar_paper_flip', 'cifar_baseline', 'imagenet_multicrop'];
    test.each(cases)('%s: loss terms, gradients, LARC steps with prototype freezing, queue', (name) => {
      const meta = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
      const e = u.loadTorchFile(path.join(dir, `${name}.pt`), { device }).tensors;
      const o = meta.options;
      u.manualSeed(0);
      const m = new SwAV({
        variant: o.imagenet ? 'imagenet' : 'cifar',
        backbone: { ...TINY, stem: o.imagenet ? 'imagenet' : 'swav-cifar' },
        hiddenMlp: 32,
        featDim: 16,
        nPrototypes: 10,
        sinkhorn: o.old ? 'old' : 'new',
        batchSize: 8,
        queueLength: o.queue_length,
        epochQueueStarts: o.epoch_queue_starts,
        freezePrototypesIters: o.freeze,
        unmix: { enabled: !o.run_swav, prob: o.unmix_prob ?? 0.5, beta: 1 },
        unmixFlipPredictions: !!o.paper_flip,
        device,
      }).to('float64');
      expect(m.queueSize).toBe(meta.queue_size);
      const weights = Object.fromEntries(
        Object.entries(e)
          .filter(([k]) => k.startsWith('weights.'))
          .map(([k, t]) => [k.slice(8), t]),
      );
      expect(m.loadStateDict(weights, { strict: false })).toEqual({
        missing: m.queueSize ? ['queue'] : [],
        unexpected: [],
      });
      const sgd = new u.SGD(m.trainableParameters(), { lr: 0.5, momentum: 0.9, weightDecay: 1e-3 });
      const larc = new u.LARC(sgd, { trustCoefficient: 0.001, clip: false });
      let rel = 0;
      meta.steps.forEach((step: Record<string, any>, s: number) => {
        const views = Object.keys(e)
          .filter((k) => k.startsWith(`steps.${s}.views.`))
          .map((k) => e[k]);
        const rng = scripted(step.draws);
        const ctx = ctxOf(step.iteration, step.epoch, rng);
        if (!o.run_swav) expect(m.drawChoices(views, scripted(step.draws)).boxes ?? []).toEqual(step.boxes);
        const { loss, logs } = m.trainingStep(views, ctx);
        for (const k of ['loss', 'loss_ori', 'loss_unmix', 'loss_unmix_flip', 'lam']) {
          if (step[k] === undefined) continue;
          if (!(Math.abs(logs[k] - step[k]) <= 1e-12 * Math.abs(step[k])))
            throw new Error(`step ${s} ${k}: ${logs[k]} vs ${step[k]}`);
        }
        expect(logs.queue_used ?? 0).toBe(step.queue_used);
        loss.backward();
        for (const [k, p] of m.namedParameters())
          rel = Math.max(rel, close(`step ${s} grad ${k}`, p.grad!, e[`steps.${s}.grads.${k}`], 1e-9, 1e-12));
        m.beforeOptimizerStep(ctx);
        expect(m.prototypes.weight.grad === null).toBe(step.iteration < o.freeze);
        u.setLr(sgd, step.lr);
        larc.step();
        m.zeroGrad();
        if (m.queue && step.epoch >= o.epoch_queue_starts)
          rel = Math.max(rel, close(`step ${s} queue`, m.queue, e[`steps.${s}.queue`]));
      });
      for (const [k, t] of Object.entries(m.stateDict())) {
        if (k === 'queue') continue;
        if (t.dtype === 'int64') expect({ k, v: values(t) }).toEqual({ k, v: values(e[`after.${k}`]) });
        else rel = Math.max(rel, close(`after ${k}`, t, e[`after.${k}`]));
      }
      worst[name] = rel;
      m.dispose();
    });

    afterAll(() => console.log(`SwAV twin: worst relative differences ${JSON.stringify(worst)}`));
  },
);
