// The argument-check vocabulary every public entry point uses (lib/validate.ts).
import * as is from '../lib/validate';

test('passing values come back unchanged', () => {
  expect(is.positiveInt('O', 'n', 3)).toBe(3);
  expect(is.nonNegativeInt('O', 'n', 0)).toBe(0);
  expect(is.positive('O', 't', 0.1)).toBe(0.1);
  expect(is.nonNegative('O', 'wd', 0)).toBe(0);
  expect(is.probability('O', 'p', 1)).toBe(1);
  expect(is.inRange('O', 'b', 0, 0, 1, { hiOpen: true })).toBe(0);
  expect(is.oneOf('O', 'stem', 'cifar', ['cifar', 'imagenet'])).toBe('cifar');
  expect(is.number('O', 'x', -2.5)).toBe(-2.5);
  expect(is.boolean('O', 'f', false)).toBe(false);
  expect(is.nonEmptyString('O', 's', 'a')).toBe('a');
  expect(is.integer('O', 'm', -3)).toBe(-3);
  expect(is.intInRange('O', 'k', 4, 1, 4)).toBe(4);
  expect(is.oddPositiveInt('O', 'kernelSize', 3)).toBe(3);
});

test('failures name the owner, the argument, what it must be and what it got', () => {
  const cases: [() => unknown, ErrorConstructor, string][] = [
    [() => is.positiveInt('MoCo', 'K', 0), RangeError, 'MoCo: K must be a positive integer, got 0'],
    [() => is.positiveInt('MoCo', 'K', 2.5), RangeError, 'MoCo: K must be a positive integer, got 2.5'],
    [() => is.positiveInt('MoCo', 'K', '4'), RangeError, "MoCo: K must be a positive integer, got '4'"],
    [
      () => is.nonNegativeInt('Loader', 'workers', -1),
      RangeError,
      'Loader: workers must be a non-negative integer, got -1',
    ],
    [() => is.positive('MoCo', 'T', 0), RangeError, 'MoCo: T must be > 0, got 0'],
    [() => is.positive('MoCo', 'T', NaN), RangeError, 'MoCo: T must be > 0, got NaN'],
    [() => is.positive('MoCo', 'T', Infinity), RangeError, 'MoCo: T must be > 0, got Infinity'],
    [() => is.nonNegative('SGD', 'lr', -0.1), RangeError, 'SGD: lr must be >= 0, got -0.1'],
    [() => is.probability('Un-Mix', 'prob', 1.5), RangeError, 'Un-Mix: prob must be in [0, 1], got 1.5'],
    [
      () => is.inRange('Adam', 'betas[0]', 1, 0, 1, { hiOpen: true }),
      RangeError,
      'Adam: betas[0] must be in [0, 1), got 1',
    ],
    [() => is.inRange('X', 'v', 0, 0, 1, { loOpen: true }), RangeError, 'X: v must be in (0, 1], got 0'],
    [() => is.oneOf('MoCo', 'mixedForwards', 3, [1, 2]), RangeError, 'MoCo: mixedForwards must be 1 or 2, got 3'],
    [
      () => is.oneOf('MoCo', 'stem', 'x', ['cifar', 'imagenet', 'none']),
      RangeError,
      "MoCo: stem must be 'cifar', 'imagenet' or 'none', got 'x'",
    ],
    [
      () => is.integer('MultiStepLR', 'milestones[1]', 2.5),
      RangeError,
      'MultiStepLR: milestones[1] must be an integer, got 2.5',
    ],
    [
      () => is.intInRange('ProcessGroup.broadcast', 'src', 5, 0, 1),
      RangeError,
      'ProcessGroup.broadcast: src must be an integer in [0, 1], got 5',
    ],
    [
      () => is.intInRange('knnPredict', 'k', 9, 1, 8, 'the bank size'),
      RangeError,
      'knnPredict: k must be an integer in [1, 8] (the bank size), got 9',
    ],
    [
      () => is.oddPositiveInt('gaussianBlur', 'kernelSize', -3),
      RangeError,
      'gaussianBlur: kernelSize must be a positive odd integer, got -3',
    ],
    [
      () => is.oddPositiveInt('gaussianBlur', 'kernelSize', 4),
      RangeError,
      'gaussianBlur: kernelSize must be a positive odd integer, got 4',
    ],
    [() => is.number('O', 'x', 'a'), TypeError, "O: x must be a finite number, got 'a'"],
    [() => is.number('O', 'x', undefined), TypeError, 'O: x must be a finite number, got undefined'],
    [() => is.boolean('O', 'f', 1), TypeError, 'O: f must be true or false, got 1'],
    [() => is.nonEmptyString('O', 's', ''), TypeError, "O: s must be a non-empty string, got ''"],
    [() => is.positiveInt('O', 'n', { a: 1 }), RangeError, 'O: n must be a positive integer, got {"a":1}'],
    [
      () => is.positiveInt('O', 'n', Array(20).fill(0)),
      RangeError,
      'O: n must be a positive integer, got an array of 20',
    ],
  ];
  for (const [f, Kind, message] of cases) {
    let thrown: unknown;
    try {
      f();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(Kind);
    expect((thrown as Error).message).toBe(message);
  }
});
