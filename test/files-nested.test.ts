// Files: saveTorchStateDict writes nested containers and plain values as torch.save does (loaded
// back with torch.load(weights_only=True) by test/fixtures/describe_torch_file.py under the Python
// of the LibTorch under test, and by our own reader); saveSafetensors refuses metadata its format
// (and our reader) does not allow.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
import { values } from './helpers';
import { python } from './support/python';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-files-nested-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const describePy = (file: string) =>
  JSON.parse(
    execFileSync(python, [path.join(__dirname, 'fixtures', 'describe_torch_file.py'), file], { encoding: 'utf8' }),
  );

describe('saveTorchStateDict: nested containers as torch.save', () => {
  const w = u.tensor([
    [1.5, -2],
    [3, 4.25],
  ]);
  const b = u.tensor(new BigInt64Array([7n, -8n]), { shape: [2] });
  const mask = u.tensor([true, false, true]);
  const state = {
    model: { w, b },
    optimizer: {
      state: new Map<number, u.TorchSaveValue>([[0, { momentum_buffer: w.mul(2), step: 3 }]]),
      param_groups: [{ lr: 0.1, momentum: 0.9, params: [0, 1], nesterov: false }],
    },
    epoch: 3,
    loss: -0.5,
    arch: 'resnet18',
    flags: [true, false, null],
    big: 2n ** 70n + 1n,
    small: -(2n ** 63n),
    both: [mask, mask],
    empty: { list: [], dict: {} },
  };

  test('torch.load(weights_only=True) in Python reads every value, type and tensor', () => {
    const file = path.join(dir, 'nested.pt');
    u.saveTorchStateDict(file, state);
    const loaded = describePy(file);
    // torch 1.13's weights-only unpickler refuses floats, in torch.save's own files too (the
    // script checks): then, and only then, the file is read with weights_only=False
    expect(loaded.weights_only).toBe(loaded.torch_floats_weights_only);
    const tensor = (dtype: string, shape: number[], data: unknown[]) => ({
      tensor: dtype,
      shape,
      data,
      requires_grad: false,
    });
    const int = (v: number | bigint) => ({ int: String(v) });
    const dict = (items: unknown[][]) => ({ dict: 'dict', items });
    expect(loaded.value).toEqual({
      dict: 'OrderedDict',
      items: [
        [
          'model',
          dict([
            ['w', tensor('float32', [2, 2], [1.5, -2, 3, 4.25])],
            ['b', tensor('int64', [2], [7, -8])],
          ]),
        ],
        [
          'optimizer',
          dict([
            [
              'state',
              dict([
                [
                  int(0),
                  dict([
                    ['momentum_buffer', tensor('float32', [2, 2], [3, -4, 6, 8.5])],
                    ['step', int(3)],
                  ]),
                ],
              ]),
            ],
            [
              'param_groups',
              {
                list: [
                  dict([
                    ['lr', { float: '0.1' }],
                    ['momentum', { float: '0.9' }],
                    ['params', { list: [int(0), int(1)] }],
                    ['nesterov', false],
                  ]),
                ],
              },
            ],
          ]),
        ],
        ['epoch', int(3)],
        ['loss', { float: '-0.5' }],
        ['arch', 'resnet18'],
        ['flags', { list: [true, false, null] }],
        ['big', int(2n ** 70n + 1n)],
        ['small', int(-(2n ** 63n))],
        ['both', { list: [tensor('bool', [3], [true, false, true]), tensor('bool', [3], [true, false, true])] }],
        [
          'empty',
          dict([
            ['list', { list: [] }],
            ['dict', dict([])],
          ]),
        ],
      ],
    });
  });

  test('without floats, torch.load(weights_only=True) reads it under every torch', () => {
    const file = path.join(dir, 'no-floats.pt');
    u.saveTorchStateDict(file, {
      model: { b },
      epoch: 3,
      tags: ['a', null, true],
      big: -(2n ** 70n),
      m: new Map([[1, 'one']]),
    });
    const loaded = describePy(file);
    expect(loaded.weights_only).toBe(true);
    expect(loaded.value.items.map(([k]: [string]) => k)).toEqual(['model', 'epoch', 'tags', 'big', 'm']);
    expect(loaded.value.items[3][1]).toEqual({ int: String(-(2n ** 70n)) });
    expect(loaded.value.items[4][1]).toEqual({ dict: 'dict', items: [[{ int: '1' }, 'one']] });
  });

  test('our own reader reads it back: Maps for dicts, arrays for lists, exact bigints, tensors by dotted path', () => {
    const file = path.join(dir, 'nested-own.pt');
    u.saveTorchStateDict(file, state);
    const { value, tensors } = u.loadTorchFile(file);
    const top = value as Map<string, unknown>;
    expect([...top.keys()]).toEqual(Object.keys(state));
    expect(top.get('epoch')).toBe(3);
    expect(top.get('loss')).toBe(-0.5);
    expect(top.get('arch')).toBe('resnet18');
    expect(top.get('flags')).toEqual([true, false, null]);
    expect(top.get('big')).toBe(2n ** 70n + 1n);
    expect(top.get('small')).toBe(-(2n ** 63n));
    expect(Object.keys(tensors)).toEqual([
      'model.w',
      'model.b',
      'optimizer.state.0.momentum_buffer',
      'both.0',
      'both.1',
    ]);
    expect(values(tensors['model.w'])).toEqual([1.5, -2, 3, 4.25]);
    expect(values(tensors['model.b'])).toEqual([7, -8]);
    expect(values(tensors['optimizer.state.0.momentum_buffer'])).toEqual([3, -4, 6, 8.5]);
    expect(
      ((top.get('optimizer') as Map<string, unknown>).get('param_groups') as Map<string, unknown>[])[0].get('lr'),
    ).toBe(0.1);
    expect(Object.keys(u.importTorchStateDict(file))).toEqual(['w', 'b']);
  });

  test('a flat state dict still loads into torch.nn as before (an OrderedDict of tensors)', () => {
    const file = path.join(dir, 'flat.pt');
    const lin = new u.Linear(3, 2);
    u.saveTorchStateDict(file, lin.stateDict());
    const loaded = describePy(file);
    expect(loaded.weights_only).toBe(true);
    const d = loaded.value;
    expect(d.dict).toBe('OrderedDict');
    expect(d.items.map(([k]: [string]) => k)).toEqual(['weight', 'bias']);
    expect(d.items[0][1].data).toEqual(values(lin.weight));
  });

  test('values torch.save files cannot hold are refused by path, and nothing is written', () => {
    const file = path.join(dir, 'refused.pt');
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(() => u.saveTorchStateDict(file, { model: { fc: new u.Linear(2, 2) } } as never)).toThrow(
      'saveTorchStateDict: model.fc is a Linear, not a tensor, number, bigint, string, boolean, null, array, Map or plain object',
    );
    expect(() => u.saveTorchStateDict(file, { epoch: undefined } as never)).toThrow(
      'saveTorchStateDict: epoch is undefined: torch.save files hold tensors',
    );
    expect(() => u.saveTorchStateDict(file, { nested: cyclic } as never)).toThrow(
      'saveTorchStateDict: nested.self contains itself (a cycle)',
    );
    expect(() => u.saveTorchStateDict(file, { f: (() => 1) as never })).toThrow('saveTorchStateDict: f is a function');
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('saveSafetensors: metadata maps strings to strings', () => {
  test('a non-string metadata value is refused on write, naming it; nothing is written', () => {
    const file = path.join(dir, 'meta.safetensors');
    const w = u.ones([2]);
    expect(() => u.saveSafetensors(file, { w }, { epoch: 3 } as never)).toThrow(
      'saveSafetensors: metadata values must be strings (safetensors maps strings to strings), got epoch: 3 (number); pass String(value) or JSON.stringify(value)',
    );
    expect(() => u.saveSafetensors(file, { w }, { cfg: { lr: 1 } } as never)).toThrow('got cfg: {"lr":1} (object)');
    expect(fs.existsSync(file)).toBe(false);
    u.saveSafetensors(file, { w }, { epoch: '3', unset: undefined } as never);
    expect(u.loadSafetensors(file).metadata).toEqual({ epoch: '3' });
  });
});
