// Recorded step draws (lib/ssl/draws.ts): the Python twins' DrawRecorders (bench/parity/moco_c10.py,
// swav_c10.py) write what their train_step (and MoCo's shuffle-BN) then draw; readMoCoDraws and
// readSwavDraws give them back as choices, a MoCo or SwAV replaying them takes exactly those steps, and
// malformed, mismatched or hostile files are clear errors before training.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
import { MoCo, MoCoChoices } from '../lib/ssl/moco';
import { SwAV } from '../lib/ssl/swav';
import { StepContext } from '../lib/ssl/method';
import { Rng } from '../lib/rng';
import { device } from './helpers';
import { python, pythonHas } from './support/python';

const B = 4;
const EXPECT = { batch: B, symmetric: true, unmix: true, height: 8, width: 8 };
const HEADER = { format: 'unmix-draws/1', method: 'moco', batch: B, symmetric: true, unmix: true };
const STEP = {
  mix: { kind: 'region', lam: 0.25, box: [1, 2, 5, 8] },
  perms: [
    [3, 1, 0, 2],
    [0, 1, 2, 3],
  ],
};

let dir = '';
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-draws-'))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** One-epoch, one-iteration-per-epoch step context for step `iteration`. */
const ctx = (iteration: number): StepContext => ({
  iteration,
  epoch: 0,
  itersPerEpoch: 1,
  totalEpochs: 1,
  rng: new Rng(iteration),
});

function write(name: string, lines: unknown[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return file;
}

test('the steps come back as MoCoChoices, in order', () => {
  const global = {
    mix: { kind: 'global', lam: 0.6118881678750437 },
    perms: [
      [0, 1, 2, 3],
      [1, 0, 3, 2],
    ],
  };
  const [a, b] = u.readMoCoDraws(write('ok.jsonl', [HEADER, STEP, global]), EXPECT);
  expect(a.mix).toEqual({ kind: 'region', lam: 0.25, box: [1, 2, 5, 8] });
  expect(a.shufflePerms.map((p) => Array.from(p))).toEqual(STEP.perms);
  expect(b.mix).toEqual({ kind: 'global', lam: 0.6118881678750437 }); // the double, to the last bit
  expect(b.shufflePerms[1]).toBeInstanceOf(Int32Array);
  const plain = u.readMoCoDraws(
    write('plain.jsonl', [
      { ...HEADER, unmix: false },
      { ...STEP, mix: null },
    ]),
    {
      ...EXPECT,
      unmix: false,
    },
  );
  expect(plain[0].mix).toBeNull();
});

test('malformed, mismatched and hostile files are clear errors, with the line', () => {
  const cases: [unknown[], RegExp][] = [
    [[], /empty/],
    [[{ ...HEADER, format: 'unmix-batches/1' }], /line 1: not an unmix-draws\/1 header/],
    [[{ ...HEADER, method: 'swav' }], /line 1: recorded with method "swav"; this run has "moco"/],
    [[{ ...HEADER, batch: 8 }], /line 1: recorded with batch 8; this run has 4/],
    [[{ ...HEADER, symmetric: false }], /recorded with symmetric false; this run has true/],
    [[{ ...HEADER, unmix: false }], /recorded with unmix false/],
    [[HEADER, STEP, '{"mix": '], /line 3: not a JSON object/],
    [[HEADER, '[1, 2]'], /line 2: not a JSON object/],
    [[HEADER, { ...STEP, perms: [[0, 1, 2, 3]] }], /line 2: step 0: expected 2 shuffle permutation/],
    [
      [
        HEADER,
        {
          ...STEP,
          perms: [
            [0, 1, 2, 2],
            [0, 1, 2, 3],
          ],
        },
      ],
      /line 2: step 0: a permutation of 0..3 expected/,
    ],
    [
      [
        HEADER,
        STEP,
        {
          ...STEP,
          perms: [
            [0, 1, 2, 4],
            [0, 1, 2, 3],
          ],
        },
      ],
      /line 3: step 1: a permutation/,
    ],
    [
      [
        HEADER,
        {
          ...STEP,
          perms: [
            [0, 1, 2, 1.5],
            [0, 1, 2, 3],
          ],
        },
      ],
      /a permutation of 0..3/,
    ],
    [[HEADER, { ...STEP, mix: { kind: 'global', lam: 1.5 } }], /mix needs a λ in \[0, 1\]/],
    [[HEADER, { ...STEP, mix: { kind: 'global', lam: 'NaN' } }], /mix needs a λ/],
    [[HEADER, { ...STEP, mix: null }], /mix needs a λ/],
    [[HEADER, { ...STEP, mix: { kind: 'cutout', lam: 0.5 } }], /global, or region with a box/],
    [[HEADER, { ...STEP, mix: { kind: 'region', lam: 0.5, box: [0, 0, 9, 4] } }], /inside 8×8/],
    [[HEADER, { ...STEP, mix: { kind: 'region', lam: 0.5, box: [5, 0, 4, 4] } }], /a box \[a1, b1, a2, b2\]/],
    [[HEADER, { ...STEP, mix: { kind: 'region', lam: 0.5, box: [0, 0, 4] } }], /a box/],
  ];
  for (const [lines, error] of cases) {
    const file = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));
    expect(() => u.readMoCoDraws(file, EXPECT)).toThrow(error);
  }
  expect(() =>
    u.readMoCoDraws(write('mixed.jsonl', [{ ...HEADER, unmix: false }, STEP]), { ...EXPECT, unmix: false }),
  ).toThrow(/a mixture in a run without Un-Mix/);
  expect(() => u.readMoCoDraws(path.join(dir, 'missing.jsonl'), EXPECT)).toThrow(/missing.jsonl.*ENOENT/);
  // a file claiming gigabytes is refused from its size, before it is read (a sparse file: no disk used)
  const huge = path.join(dir, 'huge.jsonl');
  fs.writeFileSync(huge, JSON.stringify(HEADER) + '\n');
  fs.truncateSync(huge, 2 ** 30);
  expect(() => u.readMoCoDraws(huge, EXPECT)).toThrow(/1073741824 bytes; a draws file is at most 268435456/);
});

test('a MoCo replaying draws takes those steps: the same as stepWith, and an error past the recording', () => {
  const build = () => {
    u.manualSeed(0);
    return new MoCo({ dim: 8, K: 16, bnSplits: 2, device });
  };
  u.manualSeed(1);
  const views = [u.randn([B, 3, 8, 8], { device }), u.randn([B, 3, 8, 8], { device })];
  const [choices] = u.readMoCoDraws(write('one.jsonl', [HEADER, STEP]), EXPECT);
  const direct = build().stepWith(views, choices as MoCoChoices).logs;
  const replaying = build();
  replaying.replayChoices([choices]);
  expect(replaying.trainingStep(views, ctx(0)).logs).toEqual(direct);
  expect(() => replaying.trainingStep(views, ctx(1))).toThrow(/the replayed draws hold 1 steps; this is step 1/);
  replaying.replayChoices(null); // draws again
  expect(replaying.trainingStep(views, ctx(1)).logs.loss).toEqual(expect.any(Number));
});

const SWAV_EXPECT = { batch: B, unmix: true, crops: [8, 8, 6, 6] };
const SWAV_HEADER = { format: 'unmix-draws/1', method: 'swav', batch: B, unmix: true, crops: [8, 8, 6, 6] };
const SWAV_REGION = {
  mix: {
    kind: 'region',
    lam: 0.25,
    boxes: [
      [1, 2, 5, 8],
      [0, 0, 6, 3],
    ],
  },
};

test('SwAV steps come back as its Un-Mix choices: global, region with a box per crop pair, none', () => {
  const global = { mix: { kind: 'global', lam: 0.6118881678750437 } };
  const [a, b] = u.readSwavDraws(write('swav.jsonl', [SWAV_HEADER, SWAV_REGION, global]), SWAV_EXPECT);
  expect(a).toEqual({ kind: 'region', lam: 0.25, boxes: SWAV_REGION.mix.boxes });
  expect(b).toEqual({ kind: 'global', lam: 0.6118881678750437 });
  const plain = u.readSwavDraws(write('swav-plain.jsonl', [{ ...SWAV_HEADER, unmix: false }, { mix: null }]), {
    ...SWAV_EXPECT,
    unmix: false,
  });
  expect(plain).toEqual([null]);
});

test('malformed and mismatched SwAV recordings are clear errors, with the line', () => {
  const region = (boxes: unknown) => ({ mix: { kind: 'region', lam: 0.5, boxes } });
  const cases: [unknown[], RegExp][] = [
    [[HEADER], /line 1: recorded with method "moco"; this run has "swav"/],
    [[{ ...SWAV_HEADER, crops: [8, 8] }], /recorded with crops \[8,8\]; this run has \[8,8,6,6\]/],
    [[{ ...SWAV_HEADER, batch: 2 }], /recorded with batch 2/],
    [[SWAV_HEADER, { mix: { kind: 'global', lam: -0.1 } }], /line 2: step 0: mix needs a λ in \[0, 1\]/],
    [[SWAV_HEADER, SWAV_REGION, region([[1, 2, 5, 8]])], /line 3: step 1: mix must be global, or region with boxes: 2/],
    [
      [
        SWAV_HEADER,
        region([
          [1, 2, 5, 8],
          [0, 0, 7, 3],
        ]),
      ],
      /box k inside crop 2k \(8, 8, 6, 6\)/,
    ], // 7 > crop 2's 6
    [[SWAV_HEADER, region('[1, 2, 5, 8]')], /region with boxes/],
    [[SWAV_HEADER, { mix: { kind: 'region', lam: 0.5, box: [1, 2, 5, 8] } }], /region with boxes/],
    [[SWAV_HEADER, 'null'], /line 2: not a JSON object/],
  ];
  for (const [lines, error] of cases) {
    const file = path.join(dir, 'bad-swav.jsonl');
    fs.writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));
    expect(() => u.readSwavDraws(file, SWAV_EXPECT)).toThrow(error);
  }
  expect(() =>
    u.readSwavDraws(write('swav-mixed.jsonl', [{ ...SWAV_HEADER, unmix: false }, SWAV_REGION]), {
      ...SWAV_EXPECT,
      unmix: false,
    }),
  ).toThrow(/line 2: step 0: a mixture in a run without Un-Mix/);
});

test('a SwAV replaying draws takes those steps: the same as stepWith, and an error past the recording', () => {
  const build = () => {
    u.manualSeed(0);
    return new SwAV({
      backbone: { block: 'bottleneck', layers: [1], baseWidth: 8, stem: 'swav-cifar' },
      hiddenMlp: 16,
      featDim: 8,
      nPrototypes: 6,
      batchSize: B,
      device,
    });
  };
  u.manualSeed(1);
  const views = [8, 8, 6, 6].map((s) => u.randn([B, 3, s, s], { device }));
  const steps = u.readSwavDraws(write('swav-one.jsonl', [SWAV_HEADER, SWAV_REGION]), SWAV_EXPECT);
  const direct = build().stepWith(views, steps[0], ctx(0)).logs;
  expect(direct.lam).toBe(1 - (6 * 3) / 36); // the last pair's box sets λ, as in the reference
  const replaying = build();
  replaying.replayChoices(steps);
  expect(replaying.trainingStep(views, ctx(0)).logs).toEqual(direct);
  expect(() => replaying.trainingStep(views, ctx(1))).toThrow(/SwAV: the replayed draws hold 1 steps; this is step 1/);
  replaying.replayChoices(null); // draws again
  expect(replaying.trainingStep(views, ctx(1)).logs.lam).toEqual(expect.any(Number));
});

const hasTorchvision = pythonHas('torchvision');
(hasTorchvision ? test : test.skip)(
  `the Python twin's DrawRecorder writes what its step draws${hasTorchvision ? '' : ` (skipped: ${python} has no torchvision)`}`,
  () => {
    // Records two steps of the reference's train_step on a tiny model, and checks that reading numpy's
    // draws ahead did not change them: the recorded λ and box are the ones the step then used.
    const file = path.join(dir, 'twin.jsonl');
    const script = `
import sys, types, numpy as np, torch
sys.path.insert(0, 'bench'); sys.path.insert(0, 'bench/parity')
import moco_c10
from reference_moco import train_step
torch.manual_seed(0); np.random.seed(0)
args = types.SimpleNamespace(batch_size=${B}, symmetric=True, unmix=True, prob=0.5, beta=1.0)
model = moco_c10.LoggedMoCo(unmix=True, dim=8, K=16, m=0.99, T=0.1, arch='resnet18', bn_splits=2, symmetric=True, width=4)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
rec = moco_c10.DrawRecorder(sys.argv[1], model, args)
lams = []
for i in range(6):
    x1, x2 = torch.randn(${B}, 3, 8, 8), torch.randn(${B}, 3, 8, 8)
    mix = rec.peek_mix(x1.size())
    train_step(model, opt, x1, x2, 0.5, 1.0)
    rec.step(mix)
    lams.append(model.terms['lam'])
rec.close()
print(' '.join(repr(l) for l in lams))
`;
    const used = execFileSync(python, ['-c', script, file], { cwd: path.join(__dirname, '..') })
      .toString()
      .trim()
      .split(' ')
      .map(Number);
    const steps = u.readMoCoDraws(file, EXPECT);
    expect(steps).toHaveLength(6);
    // the λ each step used: as drawn for a global mixture, the box's share for a region one
    const lamOf = (c: MoCoChoices) =>
      c.mix!.kind === 'global' ? c.mix!.lam : u.boxLam(c.mix!.box!, EXPECT.height, EXPECT.width);
    expect(steps.map(lamOf)).toEqual(used);
    expect(new Set(steps.map((c) => c.mix!.kind)).size).toBe(2); // both kinds among 6 steps with seed 0
  },
);
