// Autograd: backward with and without a gradient, retained graphs, grad(), grad-mode scopes.
import * as u from '../lib';
import { device } from './helpers';

test('backward accumulates gradients into leaves', () => {
  const x = u.tensor([1, 2, 3], { device, dtype: 'float32', requiresGrad: true });
  x.mul(x).sum().backward();
  expect(x.grad!.toArray()).toEqual([2, 4, 6]);
  x.mul(3).sum().backward();
  expect(x.grad!.toArray()).toEqual([5, 7, 9]);
  x.grad = null;
  expect(x.grad).toBeNull();
});

test('backward with a gradient argument (vector-Jacobian product)', () => {
  const x = u.tensor([1, 2], { device, dtype: 'float32', requiresGrad: true });
  const y = x.pow(3);
  y.backward(u.tensor([1, 0.5], { device }));
  expect(x.grad!.toArray()).toEqual([3, 6]);
});

test('a second backward needs retainGraph', () => {
  const x = u.tensor([2], { device, dtype: 'float32', requiresGrad: true });
  const y = x.exp().sum();
  y.backward(undefined, { retainGraph: true });
  y.backward();
  expect(x.grad!.item()).toBeCloseTo(2 * Math.exp(2), 4);
  const z = x.exp().sum();
  z.backward();
  expect(() => z.backward()).toThrow(/backward.*(second time|freed)/s);
});

test('grad() returns gradients without touching .grad, and supports higher order', () => {
  const x = u.tensor([3], { device, dtype: 'float32', requiresGrad: true });
  const y = x.pow(3).sum();
  const [dy] = u.grad(y, x, { createGraph: true });
  expect(dy!.item()).toBeCloseTo(27);
  expect(x.grad).toBeNull();
  const [d2y] = u.grad(dy!.sum(), x);
  expect(d2y!.item()).toBeCloseTo(18);
  const unused = u.tensor([1], { device, dtype: 'float32', requiresGrad: true });
  expect(u.grad(x.mul(2).sum(), [x, unused], { allowUnused: true })[1]).toBeNull();
});

test('detach cuts the graph', () => {
  const x = u.tensor([1, 2], { device, dtype: 'float32', requiresGrad: true });
  const d = x.mul(2).detach();
  expect(d.requiresGrad).toBe(false);
});

test('noGrad and enableGrad scopes nest and restore the mode', () => {
  const x = u.ones([2], { device, requiresGrad: true });
  expect(u.isGradEnabled()).toBe(true);
  const y = u.noGrad(() => {
    expect(u.isGradEnabled()).toBe(false);
    const inner = u.enableGrad(() => x.mul(2));
    expect(inner.requiresGrad).toBe(true);
    return x.mul(2);
  });
  expect(y.requiresGrad).toBe(false);
  expect(u.isGradEnabled()).toBe(true);
  expect(() =>
    u.noGrad(() => {
      throw new Error('boom');
    }),
  ).toThrow('boom');
  expect(u.isGradEnabled()).toBe(true);
});

test('async noGrad keeps the mode across await and restores it after', async () => {
  const x = u.ones([2], { device, requiresGrad: true });
  const y = await u.noGrad(async () => {
    await new Promise((r) => setTimeout(r, 5));
    return x.mul(2);
  });
  expect(y.requiresGrad).toBe(false);
  expect(u.isGradEnabled()).toBe(true);
});

test('grad mode is captured by work that runs on another thread', async () => {
  // dataAsync copies on a libuv worker thread; the copy must not record autograd history or
  // fail because that thread has its own (default) grad mode.
  const x = u.randn([64], { device, requiresGrad: true });
  const copy = await u.noGrad(() => x.mul(2).dataAsync());
  expect(copy.length).toBe(64);
  // Backward on a graph built here runs on LibTorch's autograd threads and still sees the graph.
  const w = u.randn([8, 8], { device, requiresGrad: true });
  w.matmul(w).sum().backward();
  expect(w.grad!.shape).toEqual([8, 8]);
});

test('optimizer-style in-place updates under noGrad', () => {
  const w = u.tensor([1, 1], { device, dtype: 'float32', requiresGrad: true });
  w.mul(w).sum().backward();
  u.noGrad(() => w.sub_(w.grad!, 0.1));
  expect((w.toArray() as number[]).map((v) => Math.round(v * 1000) / 1000)).toEqual([0.8, 0.8]);
  expect(w.isLeaf).toBe(true);
});

test('grad mode is per thread: a worker thread keeps its own mode', async () => {
  const { Worker } = await import('worker_threads');
  const addon = require.resolve('../build/Release/unmix.node', { paths: [__dirname] });
  // The worker uses the native layer directly (no TS toolchain in workers).
  const code = `
    const { parentPort, workerData } = require('worker_threads');
    const n = require(workerData.addon);
    const key = Symbol('handle');
    n.setTensorHandleKey(key);
    const tensor = (handle) => ({ [key]: handle });
    const mul = n.resolveOp('mul');
    const x = tensor(n.callOp(n.resolveOp('ones'), [[2]]));
    n.setRequiresGrad(x, true);
    const before = n.isGradEnabled();
    const recorded = n.tensorMeta(tensor(n.callOp(mul, [x, 2])))[4];
    n.setGradEnabled(false);
    const notRecorded = n.tensorMeta(tensor(n.callOp(mul, [x, 2])))[4];
    parentPort.postMessage({ before, recorded, notRecorded });
  `;
  const run = () =>
    new Promise<{ before: boolean; recorded: boolean; notRecorded: boolean }>((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: { addon } });
      w.once('message', resolve);
      w.once('error', reject);
    });
  const fromWorker = await u.noGrad(async () => {
    const r = await run();
    expect(u.isGradEnabled()).toBe(false); // the worker's setGradEnabled(false) did not leak here...
    return r;
  });
  expect(fromWorker).toEqual({ before: true, recorded: true, notRecorded: false }); // ...nor ours there
  expect(u.isGradEnabled()).toBe(true);
  const x = u.ones([2], { device, requiresGrad: true });
  expect(x.mul(2).requiresGrad).toBe(true);
});
