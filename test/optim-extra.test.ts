// Adam/AdamW, optimizer state dicts, lr scheduler objects and clipGradNorm against torch.optim
// (test/fixtures/optim.json, made by test/fixtures/make_optim_fixtures.py with the torch of the
// LibTorch under test; support/python.ts). Adam runs in float64: rtol 1e-10 (torch 1.13 updates the
// first moment with mul_/add_, 2.x with lerp_, equal up to rounding); clipping in float32: 1e-6.
import * as fs from 'fs';
import * as u from '../lib';
import { device, values } from './helpers';
import { torchFixture } from './support/python';

interface T {
  dtype: string;
  shape: number[];
  data: number[];
}
const fixture = JSON.parse(fs.readFileSync(torchFixture('optim.json', 'make_optim_fixtures.py'), 'utf8'));
const load = (t: T) =>
  u.tensor(t.dtype === 'float64' ? new Float64Array(t.data) : new Float32Array(t.data), { shape: t.shape, device });

const worst: Record<string, number> = {};
function expectClose(
  actual: u.Tensor | number[],
  expected: number[],
  what: string,
  kind: string,
  rtol: number,
  atol: number,
) {
  const a = Array.isArray(actual) ? actual : values(actual);
  expect(a.length).toBe(expected.length);
  a.forEach((v, i) => {
    const e = expected[i];
    worst[kind] = Math.max(worst[kind] ?? 0, Math.abs(v - e));
    if (!(Math.abs(v - e) <= atol + rtol * Math.abs(e))) throw new Error(`${what}[${i}]: ${v} vs PyTorch ${e}`);
  });
}
afterAll(() => console.log(`optim-extra: max |unmix - PyTorch|: ${JSON.stringify(worst)}`));

interface AdamCase {
  name: string;
  cls: 'Adam' | 'AdamW';
  groups: { lr: number; betas?: [number, number]; eps?: number; weight_decay?: number; amsgrad?: boolean }[];
  x: T;
  y: T;
  init: T[];
  steps: T[][];
}
const camel = (g: AdamCase['groups'][number]): u.AdamOptions => ({
  lr: g.lr,
  betas: g.betas,
  eps: g.eps,
  weightDecay: g.weight_decay,
  amsgrad: g.amsgrad,
});

function adamProblem(c: AdamCase) {
  const x = u.keep(load(c.x));
  const y = u.keep(load(c.y));
  const [w, b] = c.init.map((t) => u.keep(load(t).requiresGrad_(true)));
  const Opt = c.cls === 'Adam' ? u.Adam : u.AdamW;
  const opt =
    c.groups.length === 1
      ? new Opt([w, b], camel(c.groups[0]))
      : new Opt(c.groups.map((g, i) => ({ params: [[w, b][i]], ...camel(g) })));
  const step = () =>
    u.scope(() => {
      opt.zeroGrad();
      x.matmul(w).add(b).sub(y).pow(2).mean().add(w.pow(4).sum()).backward();
      opt.step();
    });
  return { w, b, opt, step };
}

describe('Adam and AdamW follow torch.optim over 6 steps', () => {
  for (const c of fixture.adam as AdamCase[]) {
    test(c.name, () => {
      const { w, b, step } = adamProblem(c);
      c.steps.forEach(([ew, eb], i) => {
        step();
        expectClose(w, ew.data, `${c.name} step ${i + 1} w`, 'adam', 1e-10, 1e-12);
        expectClose(b, eb.data, `${c.name} step ${i + 1} b`, 'adam', 1e-10, 1e-12);
      });
    });
  }

  test('AdamW defaults to weight decay 1e-2, Adam to 0; bad hyper-parameters are refused by name', () => {
    const p = u.zeros([2]).requiresGrad_(true);
    expect(new u.AdamW([p]).paramGroups[0].weightDecay).toBe(0.01);
    expect(new u.Adam([p]).paramGroups[0]).toMatchObject({
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0,
      amsgrad: false,
    });
    expect(() => new u.Adam([p], { lr: -1 })).toThrow('Adam: lr must be >= 0, got -1');
    expect(() => new u.AdamW([p], { betas: [0.9, 1] })).toThrow('AdamW: betas[1] must be in [0, 1), got 1');
  });
});

describe('optimizer stateDict/loadStateDict: a resumed optimizer takes the same next steps', () => {
  const resume = (
    make: (params: u.Tensor[]) => {
      step(): void;
      zeroGrad(): void;
      stateDict(): u.OptimizerStateDict;
      loadStateDict(s: u.OptimizerStateDict): void;
    },
  ) => {
    const c = (fixture.adam as AdamCase[])[0];
    const x = u.keep(load(c.x));
    const y = u.keep(load(c.y));
    const run = (params: u.Tensor[], opt: ReturnType<typeof make>, n: number) => {
      for (let i = 0; i < n; i++) {
        u.scope(() => {
          opt.zeroGrad();
          x.matmul(params[0]).add(params[1]).sub(y).pow(2).mean().add(params[0].pow(4).sum()).backward();
          opt.step();
        });
      }
    };
    const straight = c.init.map((t) => u.keep(load(t).requiresGrad_(true)));
    run(straight, make(straight), 6);
    const first = c.init.map((t) => u.keep(load(t).requiresGrad_(true)));
    const opt1 = make(first);
    run(first, opt1, 3);
    const saved = opt1.stateDict();
    const second = first.map((p) => u.keep(u.noGrad(() => p.clone()).requiresGrad_(true)));
    const opt2 = make(second);
    opt2.loadStateDict(saved);
    run(second, opt2, 3);
    second.forEach((p, i) => expect(values(p)).toEqual(values(straight[i])));
    return saved;
  };

  test('SGD with momentum and Nesterov: momentum buffers and hyper-parameters carried over', () => {
    const saved = resume((ps) => new u.SGD(ps, { lr: 0.02, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }));
    expect(Object.keys(saved.state)).toEqual(['0', '1']);
    expect(Object.keys(saved.state[0])).toEqual(['momentum_buffer']);
    expect(saved.paramGroups).toEqual([
      { lr: 0.02, momentum: 0.9, dampening: 0, weightDecay: 1e-3, nesterov: true, params: [0, 1] },
    ]);
  });

  test('Adam with AMSGrad: step count and all three moments carried over', () => {
    const saved = resume((ps) => new u.Adam(ps, { lr: 0.05, amsgrad: true, weightDecay: 0.01 }));
    expect(Object.keys(saved.state[1]).sort()).toEqual(['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'step']);
    expect(saved.state[1].step).toBe(3);
  });

  test('LARC passes its SGD state dict through', () => {
    const saved = resume(
      (ps) => new u.LARC(new u.SGD(ps, { lr: 0.02, momentum: 0.9, weightDecay: 1e-3 }), { clip: false }),
    );
    expect(Object.keys(saved.state[0])).toEqual(['momentum_buffer']);
  });

  test('a state dict for other groups is refused before anything changes', () => {
    const p = u.zeros([2]).requiresGrad_(true);
    const q = u.zeros([3]).requiresGrad_(true);
    const opt = new u.SGD([p, q], { lr: 0.1, momentum: 0.9 });
    const other = new u.SGD([{ params: [p], lr: 0.5 }, { params: [q] }], { lr: 0.1 });
    expect(() => opt.loadStateDict(other.stateDict())).toThrow(
      'SGD.loadStateDict: the state dict has 2 parameter groups, the optimizer 1',
    );
    expect(() => opt.loadStateDict(new u.SGD([p], { lr: 1 }).stateDict())).toThrow(
      'SGD.loadStateDict: group 0 has 1 parameters in the state dict, 2 in the optimizer',
    );
    expect(() => new u.Adam([p]).loadStateDict({} as never)).toThrow(
      'Adam.loadStateDict: expected {state, paramGroups}',
    );
    const adam = new u.Adam([p]);
    expect(() => adam.loadStateDict({ state: { 0: { step: 1 } }, paramGroups: [{ lr: 1, params: [0] }] })).toThrow(
      'Adam.loadStateDict: the state of parameter 0 needs step, exp_avg and exp_avg_sq, got step',
    );
    expect(adam.paramGroups[0].lr).toBe(1e-3);
    // torch.optim keeps `step` as a tensor: read as a number
    adam.loadStateDict({
      state: { 0: { step: u.tensor(3), exp_avg: u.ones([2]), exp_avg_sq: u.ones([2]) } },
      paramGroups: [{ lr: 1, params: [0] }],
    });
    expect(adam.state.get(p)!.step).toBe(3);
    expect(adam.paramGroups[0].lr).toBe(1);
    expect(opt.paramGroups[0].lr).toBe(0.1);
  });
});

describe('lr schedulers: getLastLr() after construction and each step() equals torch.optim.lr_scheduler', () => {
  const makers: Record<string, (o: u.SGD) => u.LRScheduler> = {
    step: (o) => new u.StepLR(o, 3, { gamma: 0.5 }),
    multi_step: (o) => new u.MultiStepLR(o, [2, 5, 5, 9], { gamma: 0.1 }),
    cosine: (o) => new u.CosineAnnealingLR(o, 5, { etaMin: 0.001 }),
    lambda: (o) => new u.LambdaLR(o, (e) => 0.95 ** e),
  };
  const sgd = () =>
    new u.SGD(
      [
        { params: [u.zeros([1]).requiresGrad_(true)], lr: 0.1 },
        { params: [u.zeros([1]).requiresGrad_(true)], lr: 0.02 },
      ],
      { lr: 0.1 },
    );
  for (const c of fixture.schedulers as { name: string; lrs: number[][] }[]) {
    test(c.name, () => {
      const opt = sgd();
      const s = makers[c.name](opt);
      c.lrs.forEach((expected, epoch) => {
        if (epoch > 0) s.step();
        expectClose(s.getLastLr(), expected, `${c.name} epoch ${epoch}`, 'schedulers', 1e-12, 1e-15);
        expect(opt.paramGroups.map((g) => g.lr)).toEqual(s.getLastLr());
      });
    });
  }

  test('a scheduler resumed from its stateDict continues the same lrs', () => {
    const a = new u.CosineAnnealingLR(sgd(), 7);
    for (let i = 0; i < 4; i++) a.step();
    const b = new u.CosineAnnealingLR(sgd(), 7);
    b.loadStateDict(JSON.parse(JSON.stringify(a.stateDict())));
    for (let i = 0; i < 5; i++) {
      a.step();
      b.step();
      expect(b.getLastLr()).toEqual(a.getLastLr());
    }
    expect(() => new u.StepLR(sgd(), 0)).toThrow('StepLR: stepSize must be a positive integer, got 0');
    expect(() => new u.LambdaLR(sgd(), [(e) => e])).toThrow('LambdaLR: expected 2 lambdas (one per group), got 1');
  });
});

describe('clipGradNorm equals torch.nn.utils.clip_grad_norm_', () => {
  for (const c of fixture.clip as {
    name: string;
    max_norm: number;
    norm_type: number | 'inf';
    grads: T[];
    total: number;
    clipped: T[];
  }[]) {
    test(c.name, () => {
      const params = c.grads.map((g) => u.zeros(g.shape, { device }).requiresGrad_(true));
      params.forEach((p, i) => (p.grad = load(c.grads[i])));
      const total = u.clipGradNorm(params, c.max_norm, { normType: c.norm_type === 'inf' ? Infinity : c.norm_type });
      expectClose([total.item()], [c.total], `${c.name} total norm`, 'clip', 1e-6, 1e-6);
      params.forEach((p, i) => expectClose(p.grad!, c.clipped[i].data, `${c.name} grad ${i}`, 'clip', 1e-6, 1e-6));
    });
  }

  test('parameters without gradients are skipped; a non-finite norm is an error with errorIfNonfinite', () => {
    const p = u.zeros([2]).requiresGrad_(true);
    expect(u.clipGradNorm([p], 1).item()).toBe(0);
    p.grad = u.tensor([Infinity, 1]);
    expect(() => u.clipGradNorm(p, 1, { errorIfNonfinite: true })).toThrow(
      'clipGradNorm: the total norm of order 2 of the gradients is Infinity',
    );
    expect(values(p.grad!)).toEqual([Infinity, 1]);
  });
});
