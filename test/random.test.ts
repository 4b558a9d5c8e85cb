// Random numbers: seeding reproduces, generators are independent streams, state round-trips.
import * as u from '../lib';
import { device } from './helpers';

const draw = (options: u.RandomOptions = {}) => [
  ...(u.rand([5], { device, ...options }).toArray() as number[]),
  ...(u.randn([5], { device, ...options }).toArray() as number[]),
  ...(u.randint(0, 1000, [5], { device, ...options }).toArray() as number[]),
  ...(u.randperm(8, { device, ...options }).toArray() as number[]),
];

test('manualSeed makes draws reproducible', () => {
  u.manualSeed(1234);
  const a = draw();
  u.manualSeed(1234);
  expect(draw()).toEqual(a);
  u.manualSeed(1235);
  expect(draw()).not.toEqual(a);
});

test('CPU draws equal PyTorch for the same seed', () => {
  // torch.manual_seed(0); torch.rand(4) / torch.randn(3) on the CPU generator (PyTorch 1.13 and 2.x).
  u.manualSeed(0);
  const rand = u.rand([4]).toArray() as number[];
  expect(rand.map((v) => +v.toFixed(4))).toEqual([0.4963, 0.7682, 0.0885, 0.132]);
  u.manualSeed(0);
  const randn = u.randn([3]).toArray() as number[];
  expect(randn.map((v) => +v.toFixed(4))).toEqual([1.541, -0.2934, -2.1788]);
});

test('a Generator is an independent, seedable stream', () => {
  const g = new u.Generator(device).manualSeed(42);
  const first = draw({ generator: g });
  u.manualSeed(7); // the default generator does not affect g
  const h = new u.Generator(device).manualSeed(42);
  u.rand([100], { device }); // neither do draws from it
  expect(draw({ generator: h })).toEqual(first);
  expect(g.initialSeed()).toBe(42n);
  expect(g.device).toBe(device === 'cuda' ? 'cuda:0' : device);
});

test('generator and global RNG state round-trip', () => {
  const g = new u.Generator(device).manualSeed(3);
  const state = g.getState();
  const a = draw({ generator: g });
  g.setState(state);
  expect(draw({ generator: g })).toEqual(a);

  u.manualSeed(99);
  const saved = u.getRngState(device);
  const b = draw();
  u.setRngState(saved, device);
  expect(draw()).toEqual(b);
});

test('dropout and in-place random fills follow the seed', () => {
  u.manualSeed(5);
  const a = u.dropout(u.ones([64], { device }), 0.5).toArray();
  const f = u.empty([16], { device }).uniform_(-1, 1).toArray();
  u.manualSeed(5);
  expect(u.dropout(u.ones([64], { device }), 0.5).toArray()).toEqual(a);
  expect(u.empty([16], { device }).uniform_(-1, 1).toArray()).toEqual(f);
});
