// docs/new-method.md: its method (test/support/simsiam.ts, the doc's code block) typechecks, trains
// with and without Un-Mix, and is configured like the others (preset + deep-merged partial, checked).
import * as fs from 'fs';
import * as path from 'path';
import * as u from '../lib';
import { Rng } from '../lib/rng';
import { device } from './helpers';
import { SimSiam } from './support/simsiam';

const TINY = { block: 'basic' as const, layers: [1], width: 8 };
const ctx = (iteration: number) => ({ iteration, epoch: 0, itersPerEpoch: 1, totalEpochs: 1, rng: new Rng(iteration) });

test('the tutorial shows test/support/simsiam.ts verbatim', () => {
  const code = fs.readFileSync(path.join(__dirname, 'support/simsiam.ts'), 'utf8');
  const doc = fs.readFileSync(path.join(__dirname, '../docs/new-method.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(doc)![1];
  expect(code.slice(code.indexOf('import '))).toBe(block);
});

test.each([true, false])('SimSiam trains, Un-Mix %s', (enabled) => {
  u.manualSeed(0);
  const m = new SimSiam({ backbone: TINY, hiddenDim: 8, outputDim: 4, unmix: { enabled }, device });
  expect(m.options.backbone.stem).toBe('cifar'); // the preset's, kept by the deep merge
  expect(m.options.unmix.prob).toBe(0.5);
  const views = [u.randn([4, 3, 8, 8], { device }), u.randn([4, 3, 8, 8], { device })];
  const { loss, logs } = m.trainingStep(views, ctx(0));
  loss.backward();
  expect(Number.isFinite(logs.loss)).toBe(true);
  expect('loss_mix' in logs).toBe(enabled);
  expect(m.backbone.parameters().every((p) => p.grad !== null)).toBe(true);
  expect(Object.keys(m.stateDict())).toContain('predictor.3.bias');
});

test('bad options are clear errors', () => {
  expect(() => new SimSiam({ hiddenDim: 0 })).toThrow('SimSiam: hiddenDim must be a positive integer, got 0');
  expect(() => new SimSiam({ unmix: { prob: 2 } })).toThrow('SimSiam: unmix.prob must be in [0, 1], got 2');
  expect(() => new SimSiam({ preset: 'x' as 'cifar' })).toThrow("SimSiam: unknown preset 'x' (use cifar)");
});
