// MoCo (+Un-Mix): options, the step's mechanics, and parity with the PyTorch twin
// (test/fixtures/make_moco_fixtures.py: the demo's ModelMoCo and Un-Mix step, ResNet-18 CIFAR stem,
// SplitBatchNorm(2), dim 16, K 64, batch 8 of 8×8, float64). Against the twin, loss terms, every query
// gradient, running statistics, queue, pointer, and after two SGD steps every weight of both encoders
// agree within rtol 1e-9 (atol 1e-12 × the tensor's largest magnitude, for entries that cancel to ~0).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
import { Rng } from '../lib/rng';
import { MixParams, boxLam } from '../lib/ssl/unmix';
import { MOCO_PRESETS, MoCo, MoCoChoices, MoCoConfig, fromReferenceStateDict } from '../lib/ssl/moco';
import { StepContext } from '../lib/ssl/method';
import { device, settle } from './helpers';
import { python, pythonHas } from './support/python';

const hasTorchvision = pythonHas('torchvision');
const describeWithTorchvision = hasTorchvision ? describe : describe.skip;

const ctx = (rng: Rng): StepContext => ({ iteration: 0, epoch: 0, itersPerEpoch: 1, totalEpochs: 1, rng });

/** A tiny MoCo for mechanics tests: ResNet-18 CIFAR stem, dim 8, K 16, SplitBatchNorm(2). */
function tiny(config: MoCoConfig = {}): MoCo {
  u.manualSeed(0);
  return new MoCo({ dim: 8, K: 16, bnSplits: 2, device, ...config });
}

function views(n = 4, size = 8, dtype: u.DType = 'float32', seed = 1): u.Tensor[] {
  u.manualSeed(seed);
  return [u.randn([n, 3, size, size], { dtype, device }), u.randn([n, 3, size, size], { dtype, device })];
}

function maxRelDiff(a: u.Tensor, b: u.Tensor): number {
  return u.scope(() => a.sub(b).abs().max().item() / Math.max(b.abs().max().item(), 1e-30));
}

describe('construction', () => {
  test('the CIFAR demo preset: sizes, a frozen copy as key encoder, a normalized queue', () => {
    u.manualSeed(0);
    const moco = new MoCo({ device });
    expect(moco.options).toMatchObject({
      arch: 'resnet18',
      dim: 128,
      K: 4096,
      m: 0.99,
      T: 0.1,
      bnSplits: 8,
      symmetric: true,
      mixedForwards: 2,
    });
    expect(moco.encoderQ.numParameters()).toBe(11_234_496); // spec §2.2
    const q = moco.encoderQ.namedParameters();
    const k = moco.encoderK.namedParameters();
    expect(k.map(([n]) => n)).toEqual(q.map(([n]) => n));
    expect(q.map(([n]) => n)).toContain('fc.weight');
    q.forEach(([, p], i) => expect(p.equal(k[i][1])).toBe(true));
    expect(k.every(([, p]) => !p.requiresGrad)).toBe(true);
    expect(moco.trainableParameters()).toEqual(moco.encoderQ.parameters());
    expect(moco.queue.shape).toEqual([128, 4096]);
    expect(maxRelDiff(moco.queue.norm(2, 0), u.ones([4096], { device }))).toBeLessThan(1e-6);
    expect(moco.queuePtr).toBe(0);
    expect(Object.keys(moco.stateDict())).toEqual(
      expect.arrayContaining(['encoder_q.conv1.weight', 'encoder_k.layer4.1.bn2.running_var', 'queue']),
    );
    expect(moco.stateDict()['encoder_q.conv1.weight'].shape).toEqual([64, 3, 3, 3]);
    const x = u.randn([8, 3, 32, 32], { device });
    u.noGrad(() => {
      moco.eval();
      expect(moco.embed(x, 'projection').shape).toEqual([8, 128]);
      expect(moco.embed(x, 'backbone').shape).toEqual([8, 512]);
      expect(moco.forward(x).equal(moco.embed(x, 'projection'))).toBe(true);
      moco.train();
    });
    moco.dispose();
  });

  test('the ImageNet v2 preset: ResNet-50 with the MLP head under the reference names', () => {
    u.manualSeed(0);
    const moco = new MoCo({ preset: 'imagenet-v2', K: 256, device });
    expect(moco.options).toMatchObject({
      arch: 'resnet50',
      stem: 'imagenet',
      m: 0.999,
      T: 0.2,
      symmetric: false,
      mlp: true,
      bnSplits: 1,
    });
    const sd = moco.stateDict();
    expect(sd['encoder_q.fc.0.weight'].shape).toEqual([2048, 2048]);
    expect(sd['encoder_q.fc.2.weight'].shape).toEqual([128, 2048]);
    expect(sd['encoder_q.conv1.weight'].shape).toEqual([64, 3, 7, 7]);
    // torchvision resnet50 without its fc (23,508,032) + Linear(2048, 2048) + Linear(2048, 128)
    expect(moco.encoderQ.numParameters()).toBe(23_508_032 + 2048 * 2048 + 2048 + 2048 * 128 + 128);
    expect(MOCO_PRESETS['imagenet-v1']).toMatchObject({ K: 65536, T: 0.07, mlp: false, symmetric: false });
    moco.dispose();
  });

  test('bad options, views, permutations and states are clear errors', () => {
    expect(() => new MoCo({ dim: 0 })).toThrow(/dim must be a positive integer/);
    expect(() => new MoCo({ m: 1.5 })).toThrow(/m must be in \[0, 1\]/);
    expect(() => new MoCo({ T: 0 })).toThrow(/T must be > 0/);
    expect(() => new MoCo({ mixedForwards: 3 as 1 })).toThrow(/mixedForwards must be 1 or 2/);
    expect(() => new MoCo({ worldSize: 2 })).toThrow(/worldSize 2, rank 0 needs the default process group/);
    expect(() => new MoCo({ arch: 'vgg' as 'resnet18' })).toThrow(/unknown arch 'vgg'/);
    expect(() => new MoCo({ preset: 'nope' as 'cifar' })).toThrow(/unknown preset 'nope'/);
    expect(() => new MoCo({ unmix: { prob: 2 } })).toThrow(/unmix.prob/);
    const moco = tiny();
    const [x1, x2] = views();
    const rng = new Rng(0);
    const odd = tiny({ K: 20 }); // 4 images × 2 views = 8 keys per step
    expect(() => odd.trainingStep([x1, x2], ctx(rng))).toThrow(
      /K=20 must be a multiple of the keys enqueued per step \(8 = batch 4 × 2 views\)/,
    );
    expect(odd.queuePtr).toBe(0);
    odd.dispose();
    expect(() => moco.trainingStep([x1], ctx(rng))).toThrow(/expected two views/);
    expect(() => moco.trainingStep([x1, x2.narrow(0, 0, 2)], ctx(rng))).toThrow(/one shape/);
    expect(() => moco.trainingStep(views(3), ctx(rng))).toThrow(/batch size 3 must be a multiple of bnSplits=2/);
    const perms = [Int32Array.from([0, 1, 2, 3]), Int32Array.from([0, 1, 1, 3])];
    expect(() => moco.stepWith([x1, x2], { mix: null, shufflePerms: perms })).toThrow(/permutation of 0..3/);
    expect(() => moco.stepWith([x1, x2], { mix: null, shufflePerms: perms.slice(0, 1) })).toThrow(
      /expected 2 shuffle permutation/,
    );
    expect(() => moco.embed(x1, 'pooled' as 'backbone')).toThrow(/expected 'projection' or 'backbone'/);
    expect(() => moco.loadExtraState({ queuePtr: 16 })).toThrow(/queuePtr must be an integer in \[0, 16\)/);
    expect(() => fromReferenceStateDict({ 'encoder_q.net.7.weight': x1 })).toThrow(/ModelBase.net.7 has no parameters/);
    expect(moco.queuePtr).toBe(0); // nothing above changed the state
    moco.dispose();
  });
});

describe('training steps', () => {
  test('choices come from ctx.rng in a fixed order: equal seeds give equal steps', () => {
    const a = tiny();
    const b = tiny();
    const c1 = a.drawChoices([4, 3, 8, 8], new Rng(7));
    expect(c1.shufflePerms).toHaveLength(2);
    for (const p of c1.shufflePerms) expect([...p].sort()).toEqual([0, 1, 2, 3]);
    const r1 = u.scope(() => a.trainingStep(views(), ctx(new Rng(3))).logs);
    const r2 = u.scope(() => b.trainingStep(views(), ctx(new Rng(3))).logs);
    expect(r1).toEqual(r2);
    expect(r1.loss).toBeCloseTo(
      r1.loss_12 + r1.loss_21 + r1.lam * (r1.loss_m11 + r1.loss_m21) + (1 - r1.lam) * (r1.loss_m12 + r1.loss_m22),
      4,
    );
    expect(a.queue.equal(b.queue)).toBe(true);
    const off = tiny({ unmix: { enabled: false }, shuffleBn: false, symmetric: false });
    expect(off.drawChoices([4, 3, 8, 8], new Rng(7))).toEqual({ mix: null, shufflePerms: [] });
    const logs = u.scope(() => off.trainingStep(views(), ctx(new Rng(3))).logs);
    expect(Object.keys(logs).sort()).toEqual(['loss', 'loss_0']);
    expect(logs.loss).toBe(logs.loss_0);
    for (const m of [a, b, off]) m.dispose();
  });

  test.each([
    ['symmetric, mixedForwards 2', 4, 2, { symmetric: true, mixedForwards: 2 }],
    ['symmetric, mixedForwards 1', 3, 2, { symmetric: true, mixedForwards: 1 }],
    ['asymmetric', 2, 1, { symmetric: false }],
    ['asymmetric without Un-Mix', 1, 1, { symmetric: false, unmix: { enabled: false } }],
  ] as [string, number, number, MoCoConfig][])(
    '%s: %i query and %i key forwards per step',
    (_name, queries, keys, config) => {
      const moco = tiny(config);
      const q = jest.spyOn(moco.encoderQ, 'forward');
      const k = jest.spyOn(moco.encoderK, 'forward');
      u.scope(() => moco.trainingStep(views(), ctx(new Rng(0))));
      expect(q).toHaveBeenCalledTimes(queries);
      expect(k).toHaveBeenCalledTimes(keys);
      moco.dispose();
    },
  );

  test('keys go into the queue at ptr, which wraps at K; the rest of the queue is untouched', () => {
    const moco = tiny({ symmetric: false, K: 12 });
    const rng = new Rng(5);
    for (const expected of [4, 8, 0, 4]) {
      const before = moco.queue.clone();
      const start = moco.queuePtr;
      u.scope(() => moco.trainingStep(views(4, 8, 'float32', expected), ctx(rng)));
      expect(moco.queuePtr).toBe(expected);
      expect(moco.extraState()).toEqual({ queuePtr: expected });
      const changed = u.scope(() => moco.queue.sub(before).abs().amax(0).gt(0).data());
      expect(Array.from(changed, Boolean)).toEqual(Array.from({ length: 12 }, (_, i) => i >= start && i < start + 4));
      expect(maxRelDiff(moco.queue.narrow(1, start, 4).norm(2, 0), u.ones([4], { device }))).toBeLessThan(1e-6);
      before.dispose();
    }
    moco.loadExtraState({ queuePtr: 8 });
    expect(moco.queuePtr).toBe(8);
    moco.dispose();
  });

  test('the key encoder moves by momentum before the forward and gets no gradient', () => {
    const moco = tiny({ m: 0.9 });
    const w = () => moco.stateDict()['encoder_q.layer1.0.conv1.weight'];
    const wk = () => moco.stateDict()['encoder_k.layer1.0.conv1.weight'];
    u.noGrad(() => w().add_(1)); // make θq ≠ θk
    const expected = u.noGrad(() => wk().mul(0.9).add(w().mul(0.1)));
    const spy = jest.spyOn(moco.encoderK, 'forward').mockImplementation(function (this: unknown, x: u.Tensor) {
      // At the key forward the update has happened already.
      expect(maxRelDiff(wk(), expected)).toBeLessThan(1e-6);
      spy.mockRestore();
      return moco.encoderK.forward(x);
    });
    const { loss } = moco.trainingStep(views(), ctx(new Rng(0)));
    loss.backward();
    expect(moco.encoderK.parameters().every((p) => p.grad === null)).toBe(true);
    expect(moco.encoderQ.parameters().every((p) => p.grad !== null)).toBe(true);
    moco.dispose();
  });

  test('no tensor outlives a step', async () => {
    const moco = tiny();
    const opt = new u.SGD(moco.trainableParameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
    const rng = new Rng(1);
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) {
      u.scope(() => {
        const [x1, x2] = views(4, 8, 'float32', i);
        opt.zeroGrad();
        moco.trainingStep([x1, x2], ctx(rng)).loss.backward();
        opt.step();
      });
      await settle();
      counts.push(u.liveTensors().count);
    }
    opt.zeroGrad();
    expect(counts[3]).toBe(counts[1]);
    expect(counts[2]).toBe(counts[1]);
    for (const b of opt.momentumBuffers.values()) b.dispose();
    moco.dispose();
  });

  test('mixedForwards 1 gives the loss and gradients of 2; BN statistics see the mixture once', () => {
    // float32 (the float64 comparison is against the twin below): equal up to summation order
    const run = (mixedForwards: 1 | 2) => {
      const moco = tiny({ mixedForwards });
      const [x1, x2] = views();
      const choices: MoCoChoices = moco.drawChoices(x1.shape, new Rng(11));
      const { loss, logs } = moco.stepWith([x1, x2], choices);
      loss.backward();
      return { moco, logs };
    };
    const one = run(1);
    const two = run(2);
    expect(Math.abs(one.logs.loss - two.logs.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(two.logs.loss));
    const p1 = one.moco.encoderQ.namedParameters();
    const p2 = two.moco.encoderQ.namedParameters();
    const worst = Math.max(...p1.map(([, p], i) => maxRelDiff(p.grad!, p2[i][1].grad!)));
    expect(worst).toBeLessThan(1e-5);
    const stat = (m: MoCo) => m.stateDict()['encoder_q.bn1.running_mean'];
    expect(maxRelDiff(stat(one.moco), stat(two.moco))).toBeGreaterThan(1e-3);
    one.moco.dispose();
    two.moco.dispose();
  });
});

interface TwinCase {
  symmetric: boolean;
  mix: MixParams | null;
  perms: number[][];
  terms: Record<string, number>;
  step2?: { mix: MixParams; perms: number[][]; terms: Record<string, number> };
}

describeWithTorchvision(
  `parity with the PyTorch twin${hasTorchvision ? '' : ` (skipped: ${python} has no torchvision)`}`,
  () => {
    let dir = '';
    let meta: {
      lr: number;
      momentum: number;
      weightDecay: number;
      dim: number;
      K: number;
      bnSplits: number;
      cases: Record<string, TwinCase>;
    };
    let inputs: Record<string, u.Tensor>;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-moco-'));
      execFileSync(python, [path.join(__dirname, 'fixtures', 'make_moco_fixtures.py'), dir, 'moco'], { stdio: 'pipe' });
      meta = JSON.parse(fs.readFileSync(path.join(dir, 'moco.json'), 'utf8'));
      inputs = u.loadTorchFile(path.join(dir, 'moco.inputs.pt'), { device }).tensors;
    }, 300000);
    afterAll(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

    const close = (what: string, a: u.Tensor, b: u.Tensor) => {
      expect({ what, shape: a.shape }).toEqual({ what, shape: b.shape });
      u.scope(() => {
        const diff = a.sub(b).abs();
        // 1e-9 of each element or 1e-10 of the tensor's largest magnitude: LibTorch 2.x sums float64
        // convolution weight gradients in an order that varies between runs (seen: 1.7e-12 at a
        // largest magnitude of 0.041 on 2.14.1, some runs only; 1.13 stays within 1e-12).
        const bound = b
          .abs()
          .mul(1e-9)
          .add(1e-10 * Math.max(b.abs().max().item(), 1e-30));
        if (diff.sub(bound).max().item() > 0)
          throw new Error(
            `${what}: differs from the twin by up to ${diff.max().item()} (largest magnitude ${b.abs().max().item()})`,
          );
      });
    };
    const closeTerms = (ours: Record<string, number>, theirs: Record<string, number>) => {
      for (const [name, v] of Object.entries(theirs)) {
        expect({ name, v: ours[name] }).toEqual({ name, v: expect.any(Number) });
        if (Math.abs(ours[name] - v) > 1e-9 * Math.abs(v)) throw new Error(`${name}: ${ours[name]} vs the twin's ${v}`);
      }
      expect(
        Object.keys(ours)
          .filter((k) => k.startsWith('loss'))
          .sort(),
      ).toEqual(Object.keys(theirs).sort());
    };
    const choicesOf = (mix: MixParams | null, perms: number[][]): MoCoChoices => ({
      mix,
      shufflePerms: perms.map((p) => Int32Array.from(p)),
    });

    /** The twin's gradients and state after a step, in our names (queue_ptr as a number). */
    function load(name: string): { grads: u.StateDict; after: u.StateDict; queuePtr: number | null } {
      const t = u.loadTorchFile(path.join(dir, name), { device }).tensors;
      const pick = (prefix: string) =>
        Object.fromEntries(
          Object.entries(t)
            .filter(([k]) => k.startsWith(prefix))
            .map(([k, v]) => [k.slice(prefix.length), v]),
        );
      const { stateDict: after, queuePtr } = fromReferenceStateDict(pick('after.'));
      return { grads: fromReferenceStateDict(pick('grads.')).stateDict, after, queuePtr };
    }

    function build(symmetric: boolean, mixedForwards: 1 | 2 = 2): { moco: MoCo; opt: u.SGD } {
      const moco = new MoCo({
        preset: 'cifar',
        dim: meta.dim,
        K: meta.K,
        bnSplits: meta.bnSplits,
        symmetric,
        mixedForwards,
        device,
      }).to('float64');
      moco.loadReferenceStateDict(u.importTorchStateDict(path.join(dir, 'moco.init.pt'), { device }));
      const opt = new u.SGD(moco.trainableParameters(), {
        lr: meta.lr,
        momentum: meta.momentum,
        weightDecay: meta.weightDecay,
      });
      return { moco, opt };
    }

    function step(moco: MoCo, opt: u.SGD, x1: u.Tensor, x2: u.Tensor, choices: MoCoChoices) {
      opt.zeroGrad();
      const { loss, logs } = moco.stepWith([x1, x2], choices);
      loss.backward();
      const grads = Object.fromEntries(
        moco
          .namedParameters()
          .filter(([, p]) => p.grad)
          .map(([k, p]) => [k, p.grad!]),
      );
      return { logs, grads };
    }

    function compareStep(
      ours: { logs: Record<string, number>; grads: u.StateDict },
      c: { mix: MixParams | null; terms: Record<string, number> },
      expected: { grads: u.StateDict },
    ) {
      closeTerms(ours.logs, c.terms);
      if (c.mix) expect(ours.logs.lam).toBe(c.mix.kind === 'global' ? c.mix.lam : boxLam(c.mix.box!, 8, 8));
      expect(Object.keys(ours.grads).sort()).toEqual(Object.keys(expected.grads).sort());
      for (const [k, g] of Object.entries(expected.grads)) close(`grad ${k}`, ours.grads[k], g);
    }

    const cases = ['sym_region', 'sym_off', 'asym_region', 'asym_global', 'asym_off'];
    test.each(cases)(
      '%s: loss terms, gradients, running statistics, queue and pointer',
      (name) => {
        const c = meta.cases[name];
        const { moco, opt } = build(c.symmetric);
        const ours = step(moco, opt, inputs.x1, inputs.x2, choicesOf(c.mix, c.perms));
        const expected = load(`moco.${name}.pt`);
        compareStep(ours, c, expected);
        opt.step();
        const sd = moco.stateDict();
        expect(moco.queuePtr).toBe(expected.queuePtr);
        expect(Object.keys(expected.after).length).toBeGreaterThan(100); // running statistics of both encoders, the queue
        for (const [k, v] of Object.entries(expected.after)) close(k, sd[k], v);
        if (name === 'sym_region') {
          // A second step (symmetric, global mixture): SGD momentum, the key encoder's momentum update
          // from the stepped query encoder, the queue wrapping around.
          const s2 = c.step2!;
          const ours2 = step(moco, opt, inputs.x1b, inputs.x2b, choicesOf(s2.mix, s2.perms));
          const expected2 = load('moco.sym_region.step2.pt');
          compareStep(ours2, { ...s2 }, expected2);
          opt.step();
          expect(moco.queuePtr).toBe(expected2.queuePtr);
          expect(Object.keys(moco.stateDict()).sort()).toEqual(Object.keys(expected2.after).sort());
          for (const [k, v] of Object.entries(expected2.after)) close(k, moco.stateDict()[k], v);
        }
        for (const b of opt.momentumBuffers.values()) b.dispose();
        moco.dispose();
      },
      300000,
    );

    test('mixedForwards 1 matches the reference loss and gradients (symmetric, region mixture)', () => {
      const c = meta.cases.sym_region;
      const { moco, opt } = build(true, 1);
      const q = jest.spyOn(moco.encoderQ, 'forward');
      compareStep(step(moco, opt, inputs.x1, inputs.x2, choicesOf(c.mix, c.perms)), c, load('moco.sym_region.pt'));
      expect(q).toHaveBeenCalledTimes(3);
      moco.dispose();
    }, 300000);
  },
);
