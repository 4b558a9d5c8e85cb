// Public entry points refuse bad arguments by name (lib/validate.ts's wording) before LibTorch sees
// them or a silently wrong result comes out; the checks whose words and behaviour disagreed are fixed.
import * as u from '../lib';

const p = () => u.zeros([2], { requiresGrad: true });

test('optimizers and schedulers', () => {
  expect(() => new u.SGD([p()], { lr: NaN })).toThrow('SGD: invalid learning rate NaN'); // NaN passed `lr < 0`
  expect(() => new u.SGD([p()], { lr: 0.1, momentum: -0.9 })).toThrow('SGD: momentum must be >= 0, got -0.9');
  expect(() => new u.SGD([p()], { lr: 0.1, weightDecay: -1 })).toThrow('SGD: weightDecay must be >= 0, got -1');
  expect(() => new u.Adam([p()], { eps: NaN })).toThrow('Adam: eps must be >= 0, got NaN');
  expect(() => new u.Adam([p()], { betas: [0.9] as never })).toThrow('Adam: betas must be two numbers, got [0.9]');
  const sgd = new u.SGD([p()], { lr: 0.1 });
  expect(() => new u.LARC(sgd, { trustCoefficient: 0 })).toThrow('LARC: trustCoefficient must be > 0, got 0');
  expect(() => new u.CosineAnnealingLR(sgd, 2.5)).toThrow(
    'CosineAnnealingLR: tMax must be a positive integer, got 2.5',
  );
  expect(() => new u.CosineAnnealingLR(sgd, 10, { etaMin: -1 })).toThrow(
    'CosineAnnealingLR: etaMin must be >= 0, got -1',
  );
  expect(() => new u.MultiStepLR(sgd, [2, 3.5])).toThrow('MultiStepLR: milestones[1] must be an integer, got 3.5');
  expect(() => new u.StepLR(sgd, 2, { gamma: -0.1 })).toThrow('StepLR: gamma must be >= 0, got -0.1');
  expect(() => new u.StepLR(sgd, 2, { lastEpoch: 1.5 })).toThrow('StepLR: lastEpoch must be an integer, got 1.5');
  expect(() => new u.StepLR(sgd, 2, { lastEpoch: -2 })).toThrow(
    'StepLR: lastEpoch must be -1 (a new schedule) or an epoch >= 0, got -2',
  );
});

test('layers and networks', () => {
  expect(() => new u.Linear(0, 3)).toThrow('Linear: inFeatures must be a positive integer, got 0');
  expect(() => new u.Conv2d(3, 8, 3, { groups: 2 })).toThrow(
    'Conv2d: inChannels 3 and outChannels 8 must be multiples of groups 2',
  );
  expect(() => new u.Conv2d(3, 8, 3, { padding: -1 })).toThrow(
    'Conv2d: padding must be a non-negative integer, got -1',
  );
  expect(() => new u.BatchNorm2d(4, { momentum: 2 })).toThrow('BatchNorm2d: momentum must be in [0, 1], got 2');
  expect(() => new u.SplitBatchNorm2d(4, 0)).toThrow('SplitBatchNorm2d: numSplits must be a positive integer, got 0');
  expect(() => new u.ResNet({ block: 'basic', layers: [2, 0], stem: 'cifar' })).toThrow(
    'ResNet: layers[1] must be a positive integer, got 0',
  );
  expect(() => new u.ResNet({ block: 'basic', layers: [1], stem: 'tiny' as never })).toThrow(
    "ResNet: stem must be 'imagenet', 'cifar' or 'swav-cifar', got 'tiny'",
  );
  expect(() => u.clipGradNorm([p()], -1)).toThrow('clipGradNorm: maxNorm must be >= 0, got -1');
});

test('evaluation and recipes', async () => {
  const f = u.zeros([2, 3]);
  expect(() => u.knnPredict(f, u.zeros([3, 4]), u.zeros([4], { dtype: 'int64' }), 2, 2, NaN)).toThrow(
    'knnPredict: t must be > 0, got NaN',
  );
  const none = async function* () {};
  await expect(
    u.linearProbe({ embed: (x) => x, train: none, test: none, classes: 2, epochs: 0, lr: 0.1 }),
  ).rejects.toThrow('linearProbe: epochs must be a positive integer, got 0');
  await expect(
    u.linearProbe({
      embed: (x) => x,
      train: none,
      test: none,
      classes: 2,
      epochs: 1,
      lr: 0.1,
      schedule: 'linear' as never,
    }),
  ).rejects.toThrow("linearProbe: schedule must be 'cosine' or 'step', got 'linear'");
  const cached = await u.cacheFeatures(
    [{ images: u.arange(0, 6).view(3, 2).float(), labels: u.tensor([0, 1, 0]) }] as never,
    (x) => x,
  );
  await expect(u.featureBatches(cached, { batchSize: 0, seed: 0, shuffleStream: null }).next()).rejects.toThrow(
    'featureBatches: batchSize must be a positive integer, got 0',
  );
});

test('the recipes give the reference lrs', () => {
  const cifar = u.mocoLr({ lr: 0.06, epochs: 4, cos: true, milestones: [], firstEpoch: 1 });
  expect([0, 1, 2, 3].map((epoch) => cifar({ epoch }))).toEqual(
    [0, 1, 2, 3].map((e) => 0.06 * 0.5 * (1 + Math.cos((Math.PI * (e + 1)) / 4))),
  );
  const step = u.mocoLr({ lr: 0.03, epochs: 200, cos: false, milestones: [120, 160], firstEpoch: 0 });
  expect([0, 119, 120, 160].map((epoch) => step({ epoch }))).toEqual([0.03, 0.03, 0.03 * 0.1, 0.03 * 0.1 ** 2]);
  const { optimizer, lr } = u.swavOptimizer([p()], {
    baseLr: 0.6,
    finalLr: 0.0006,
    startWarmup: 0,
    warmupEpochs: 1,
    epochs: 2,
    itersPerEpoch: 3,
    weightDecay: 1e-6,
  });
  expect(optimizer).toBeInstanceOf(u.LARC);
  expect([optimizer.trustCoefficient, optimizer.clip, optimizer.paramGroups[0].momentum]).toEqual([0.001, false, 0.9]);
  const schedule = u.warmupCosineLr({
    baseLr: 0.6,
    finalLr: 0.0006,
    startWarmup: 0,
    warmupEpochs: 1,
    epochs: 2,
    itersPerEpoch: 3,
  });
  expect([0, 4, 5, 99].map((iteration) => lr({ iteration }))).toEqual([
    schedule[0],
    schedule[4],
    schedule[5],
    schedule[5],
  ]);
});

test('data, training, random numbers and the runtime', () => {
  // the pipeline's "kernelSize must be odd" let a negative odd size through to the blur
  expect(() => u.validatePipeline([{ op: 'gaussianBlur', p: 0.5, sigma: [0.1, 2], kernelSize: -3 }])).toThrow(
    'pipeline step 0 (gaussianBlur): kernelSize must be a positive odd integer, got -3',
  );
  expect(() =>
    u.validatePipeline([{ op: 'colorJitter', p: 0.8, brightness: -0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 }]),
  ).toThrow('pipeline step 0 (colorJitter): brightness must be >= 0, got -0.4');
  const set = u.syntheticDataset({ split: 'test', perClass: 1, size: 8 });
  expect(() => new u.Loader(set, { batchSize: 2, pipeline: [], shuffle: 'yes' as never })).toThrow(
    "Loader: shuffle must be true or false, got 'yes'",
  );
  expect(() => new u.Loader(set, { batchSize: 2, pipeline: [], seed: NaN })).toThrow(
    'Loader: seed must be an integer, got NaN',
  );
  const loader = new u.Loader(set, { batchSize: 2, pipeline: [] });
  const sgd = new u.SGD([p()], { lr: 0.1 });
  const base = { method: {} as never, loader, optimizer: sgd, lr: () => 0.1, epochs: 1, resultsDir: 'unused' };
  expect(() => new u.Trainer({ ...base, itersPerEpoch: 0 })).toThrow(
    'Trainer: itersPerEpoch must be a positive integer, got 0',
  );
  expect(() => new u.Trainer({ ...base, resultsDir: '' })).toThrow(
    "Trainer: resultsDir must be a non-empty string, got ''",
  );
  expect(() => new u.Trainer({ ...base, evaluateEvery: -1 })).toThrow(
    'Trainer: evaluateEvery must be a non-negative integer, got -1',
  );
  expect(() => new u.Rng(1).permutation(2.5)).toThrow('Rng.permutation: n must be a non-negative integer, got 2.5');
  expect(() => u.autocast({ device: 'cpu', dtype: 'float64' as never }, () => 0)).toThrow(
    "autocast: dtype must be 'bfloat16' or 'float16', got 'float64'",
  );
  expect(() => u.setNumThreads(0)).toThrow('setNumThreads: threads must be a positive integer, got 0');
  expect(() => new u.SummaryWriter('')).toThrow("SummaryWriter: logDir must be a non-empty string, got ''");
});

test('checkpoints', () => {
  expect(() => u.saveCheckpoint('', {})).toThrow("saveCheckpoint: file must be a non-empty string, got ''");
  expect(() => u.saveCheckpoint('unused.ckpt', { epoch: NaN })).toThrow(
    'saveCheckpoint: epoch must be a non-negative integer, got NaN',
  );
});
