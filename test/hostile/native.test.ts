// Hostile calls into the native layer (issue 13, items 1, 5, 6, 8): internal and unchecked
// kernels are refused unless asked for, C++ exceptions never cross N-API, and wrong argument
// kinds or values get one sentence naming the argument.
import * as u from '../../lib';
import { runScript } from './helpers';

// Kernels that crashed the process (SIGSEGV) on these arguments before call() refused them.
const crashers: [string, string, RegExp][] = [
  [
    '_reshape_alias',
    `u.call('_reshape_alias', [u.ones([2]), [1000000], [1]])`,
    /aten::_reshape_alias is refused: a leading underscore marks a LibTorch internal/,
  ],
  [
    'max_pool2d_with_indices_backward',
    `u.call('max_pool2d_with_indices_backward', [u.ones([1, 1, 2, 2]), u.ones([1, 1, 4, 4]), [2, 2], [2, 2], [0, 0], [1, 1], false, u.full([1, 1, 2, 2], 1e9).to('int64')])`,
    /is refused: backward kernels trust the arguments autograd gives them/,
  ],
  [
    'native_batch_norm_backward',
    `u.call('native_batch_norm_backward', [u.ones([2, 3]), u.ones([2, 3]), null, null, null, null, null, true, 1e-5, [true, true, true]])`,
    /is refused: backward kernels/,
  ],
  [
    'segment_reduce(unsafe=true)',
    `u.call('segment_reduce', [u.ones([4]), 'sum'], { lengths: u.tensor([100]).to('int64'), unsafe: true })`,
    /aten::segment_reduce: unsafe=true skips the kernel's argument checks/,
  ],
  [
    '_sparse_coo_tensor_unsafe',
    `u.call('to_dense', [u.call('_sparse_coo_tensor_unsafe', [u.tensor([[1e9]]).to('int64'), u.ones([1]), [2]])])`,
    /aten::_sparse_coo_tensor_unsafe is refused/,
  ],
  [
    'sparse_coo_tensor',
    `u.call('to_dense', [u.call('sparse_coo_tensor', [u.tensor([[1e9]]).to('int64'), u.ones([1]), [2]])])`,
    /aten::sparse_coo_tensor is refused: the sparse family/,
  ],
];

test('internal, backward, sparse and unsafe=true kernels are refused by call() unless {unchecked: true}, and the process lives', () => {
  const r = runScript(
    crashers
      .map(
        ([, code]) =>
          `try { ${code}; console.log('called'); } catch (e) { console.log(JSON.stringify((e as Error).message)); }`,
      )
      .join('\n'),
  );
  expect(r.signal).toBeNull();
  expect(r.status).toBe(0);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as string);
  crashers.forEach(([, , message], i) => {
    expect(lines[i]).toMatch(message);
    expect(lines[i]).toContain('{unchecked: true}');
  });
});

test('{unchecked: true} reaches an internal op (the caller takes the risk)', () => {
  const y = u.call('_reshape_alias', [u.arange(6), [2, 3], [3, 1]], undefined, { unchecked: true }) as u.Tensor;
  expect(y.shape).toEqual([2, 3]);
  // The optimizers' multi-tensor kernels stay public: they check their lists.
  const [a] = u.call('_foreach_add.List', [[u.ones([2])], [u.ones([2])]]) as u.Tensor[];
  expect(a.toArray()).toEqual([2, 2]);
});

test('C++ exceptions outside Guard do not abort: Generator.manualSeed([]) and setNumThreads([])', () => {
  const r = runScript(`
    for (const f of [() => new (u as any).Generator().manualSeed([]), () => (u as any).setNumThreads([]), () => (u as any).manualSeed([])]) {
      try { f(); console.log('accepted'); } catch (e) { console.log((e as Error).message); }
    }`);
  expect(r.signal).toBeNull();
  expect(r.status).toBe(0);
  expect(r.stdout.trim().split('\n')).toEqual([
    "Generator.manualSeed: argument 'seed' must be one integer, got an empty array",
    "setNumThreads: argument 'threads' must be an integer, got an array",
    "manualSeed: argument 'seed' must be one integer, got an empty array",
  ]);
});

test('setNumThreads(3000) is refused at once (it did not return)', () => {
  const r = runScript(
    `try { u.setNumThreads(3000); console.log('set'); } catch (e) { console.log((e as Error).message); }`,
    { timeoutMs: 30000 },
  );
  expect(r.signal).toBeNull();
  expect(r.stdout).toMatch(/^setNumThreads: threads must be between 1 and \d+, got 3000/);
});

test('a grad of another shape, dtype or the tensor itself is refused (SGD broadcast it)', () => {
  const w = u.zeros([1000]).requiresGrad_();
  expect(() => (w.grad = u.randn([1]))).toThrow('grad: the assigned grad has shape [1], the tensor [1000]');
  expect(() => (w.grad = w)).toThrow('grad: a tensor cannot be assigned as its own grad');
  expect(() => (w.grad = u.zeros([1000], { dtype: 'float64' }))).toThrow(
    'grad: the assigned grad is float64, the tensor float32',
  );
  w.grad = u.ones([1000]);
  expect(w.grad!.sum().item()).toBe(1000);
  w.grad = null;
  expect(w.grad).toBeNull();
});

test('sizes out of range and typed arrays over a SharedArrayBuffer', () => {
  expect(() => u.zeros([-(2 ** 63)])).toThrow(
    /aten::zeros: argument 'size' \(position 1\): element 0: expected integer of at least -2\^62/,
  );
  expect(() => u.zeros([2 ** 63])).toThrow(
    /aten::zeros: argument 'size' \(position 1\): element 0: expected integer, got number/,
  );
  const shared = new Float32Array(new SharedArrayBuffer(12));
  shared.set([1, 2, 3]);
  expect(u.tensor(shared).toArray()).toEqual([1, 2, 3]);
});

test('applyPipeline with a negative size names the step', () => {
  const x = u.zeros([1, 3, 8, 8], { dtype: 'uint8' });
  expect(() => u.applyPipeline(x, [{ op: 'resize', size: -4 }], new u.Rng(1))).toThrow(
    'pipeline step 0 (resize): size must be a positive integer, got -4',
  );
});
