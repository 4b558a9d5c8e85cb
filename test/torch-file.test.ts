// Importing torch.save files: state dicts load with the right values, dtypes and shapes; a
// pickle that calls a system function is refused and has no effect; broken files fail clearly.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
import { device } from './helpers';
import { python, pythonHas } from './support/python';

const hasTorch = pythonHas('torch');
const describeWithTorch = hasTorch ? describe : describe.skip;

describeWithTorch(
  `files written by torch.save${hasTorch ? '' : ` (skipped: ${python} has no torch; apt-get install python3-torch)`}`,
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-torchfile-'));
    beforeAll(() =>
      execFileSync(python, [path.join(__dirname, 'fixtures', 'make_torch_files.py'), dir], { stdio: 'pipe' }),
    );
    const expected = () => JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));

    test('a bare state_dict loads into a matching module', () => {
      const sd = u.importTorchStateDict(path.join(dir, 'state_dict.pt'), { device });
      expect(Object.keys(sd).sort()).toEqual([
        '0.bias',
        '0.weight',
        '1.bias',
        '1.num_batches_tracked',
        '1.running_mean',
        '1.running_var',
        '1.weight',
      ]);
      const net = new u.Sequential(new u.Linear(3, 2, { device }), new u.BatchNorm1d(2, { device }));
      net.loadStateDict(sd);
      const want = expected();
      for (const [k, t] of Object.entries(net.stateDict())) {
        expect(Array.from(t.to('float32').data() as Float32Array)).toEqual(want[k].data.map(Math.fround));
      }
      expect(sd['1.num_batches_tracked'].dtype).toBe('int64');
    });

    test("MoCo's checkpoint dict: state_dict found, 'module.' stripped, views and dtypes right", () => {
      const file = u.loadTorchFile(path.join(dir, 'moco.pth.tar'));
      const top = file.value as Map<string, unknown>;
      expect(top.get('epoch')).toBe(7);
      expect(top.get('arch')).toBe('resnet18');
      expect(Object.keys(file.tensors).some((k) => k.startsWith('optimizer.state.'))).toBe(true); // momentum buffers
      const sd = u.importTorchStateDict(path.join(dir, 'moco.pth.tar'), { device });
      const want = expected();
      expect(Object.keys(sd).sort()).toEqual(Object.keys(want).sort());
      for (const [k, w] of Object.entries(want) as [string, { dtype: string; shape: number[]; data: number[] }][]) {
        expect({ k, dtype: sd[k].dtype, shape: sd[k].shape }).toEqual({ k, dtype: w.dtype, shape: w.shape });
        expect(Array.from(sd[k].to('float32').data() as Float32Array)).toEqual(w.data.map(Math.fround));
      }
    });

    test('a pickle that calls os.system is refused, naming the global, and runs nothing', () => {
      expect(() => u.loadTorchFile(path.join(dir, 'evil.pt'))).toThrow(
        /refused to load the global '(posix|os)\.system': only tensors, storages and plain containers are allowed/,
      );
      expect(fs.existsSync(path.join(dir, 'PWNED'))).toBe(false);
    });

    test('unmix inspect lists a torch.save file with nested names and its metadata', () => {
      const out = execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          path.join(__dirname, '..', 'lib', 'cli', 'unmix.ts'),
          'inspect',
          path.join(dir, 'moco.pth.tar'),
          '--json',
        ],
        { encoding: 'utf8' },
      );
      const info = JSON.parse(out);
      expect(info.format).toBe('torch');
      expect(info.metadata).toMatchObject({ epoch: 7, arch: 'resnet18' });
      expect(info.tensors).toContainEqual({ name: 'state_dict.module.transposed', shape: [4, 3], dtype: 'float64' });
    });

    test('saveTorchStateDict writes what torch.load(weights_only=True) reads back exactly', () => {
      const file = path.join(dir, 'ours.pt');
      const base = u.arange(6, undefined, 1, { dtype: 'float64', device }).reshape(2, 3);
      const state = {
        'a.weight': base.t(), // non-contiguous
        'a.half': u.tensor([1.5, -2.25], { dtype: 'float16', device }),
        'b.flags': u.tensor([true, false, true], { device }),
        'b.count': u.full([], 2 ** 40, { dtype: 'int64', device }),
      };
      u.saveTorchStateDict(file, state);
      const script = [
        'import json, sys, torch',
        'sd = torch.load(sys.argv[1], weights_only=True)',
        'print(json.dumps({k: [str(v.dtype), list(v.shape), v.double().flatten().tolist()] for k, v in sd.items()}))',
      ].join('\n');
      const back = JSON.parse(execFileSync(python, ['-c', script, file], { encoding: 'utf8' }));
      expect(back).toEqual({
        'a.weight': ['torch.float64', [3, 2], [0, 3, 1, 4, 2, 5]],
        'a.half': ['torch.float16', [2], [1.5, -2.25]],
        'b.flags': ['torch.bool', [3], [1, 0, 1]],
        'b.count': ['torch.int64', [], [2 ** 40]],
      });
      expect(u.importTorchStateDict(file)['a.weight'].toArray()).toEqual([
        [0, 3],
        [1, 4],
        [2, 5],
      ]);
    });

    test('truncated and corrupt files give a clear error', () => {
      const good = fs.readFileSync(path.join(dir, 'state_dict.pt'));
      fs.writeFileSync(path.join(dir, 'cut.pt'), good.subarray(0, good.byteLength - 200));
      expect(() => u.loadTorchFile(path.join(dir, 'cut.pt'))).toThrow(
        /cut\.pt: (corrupt zip archive|.*missing|.*ends early)/,
      );
      fs.writeFileSync(path.join(dir, 'junk.pt'), Buffer.from('not a checkpoint at all'));
      expect(() => u.loadTorchFile(path.join(dir, 'junk.pt'))).toThrow(/not a torch\.save zip archive/);
    });
  },
);
