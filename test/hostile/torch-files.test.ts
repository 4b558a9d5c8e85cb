// Hostile torch.save and safetensors files (issue 13, items 1, 6, 8): each is built here in a
// temporary folder; the CLI and the loaders must answer with one sentence naming the file, in
// bounded memory, and never abort.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as u from '../../lib';
import { inspectFile } from '../../lib/io/inspect';
import {
  billionLaughsPickle,
  cyclePickle,
  deepPickle,
  legacyTorchFile,
  rebuildWithoutArgsPickle,
  runCli,
  runScript,
  safetensorsWithHeader,
  tempDir,
  torchZip,
} from './helpers';

let dir: string;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, data: Uint8Array) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, data);
  return file;
};

test('a billion-laughs pickle (a shared sub-list 40 levels deep) is refused in bounded memory by inspect, loadTorchFile and importTorchStateDict', () => {
  const file = write('laughs.pt', torchZip(billionLaughsPickle(40)));
  expect(fs.statSync(file).size).toBeLessThan(1024);
  const cli = runCli(['inspect', file], { heapMB: 512 });
  expect(cli.signal).toBeNull();
  expect(cli.status).toBe(1);
  expect(cli.stderr).toContain(`unmix: ${file}: the pickle's object graph has more than 1000000 nodes when expanded`);
  expect(cli.maxRssMB).toBeLessThan(600);
  const lib = runScript(
    `for (const f of [u.loadTorchFile, u.importTorchStateDict]) {
       try { f(${JSON.stringify(file)}); console.log('loaded'); } catch (e) { console.log((e as Error).message); }
     }`,
    { heapMB: 512 },
  );
  expect(lib.status).toBe(0);
  expect(lib.stdout.trim().split('\n')).toEqual([
    expect.stringContaining(`${file}: the pickle's object graph has more than`),
    expect.stringContaining(`${file}: the pickle's object graph has more than`),
  ]);
  expect(lib.maxRssMB).toBeLessThan(600);
}, 60000);

test('a pickle whose objects form a cycle, and one nested 100,000 levels deep, get a sentence naming the file', () => {
  const cycle = write('cycle.pt', torchZip(cyclePickle()));
  expect(() => u.loadTorchFile(cycle)).toThrow(`${cycle}: the pickle's objects form a cycle (at '0'): refused`);
  const deep = write('deep.pt', torchZip(deepPickle(100000)));
  expect(() => u.loadTorchFile(deep)).toThrow(`${deep}: the pickle nests objects more than 1000 levels deep: refused`);
  expect(() => inspectFile(deep)).toThrow(`${deep}: the pickle nests objects more than 1000 levels deep`);
});

test('_rebuild_tensor_v2 without arguments names the call and the file', () => {
  const file = write('noargs.pt', torchZip(rebuildWithoutArgsPickle()));
  expect(() => u.loadTorchFile(file)).toThrow(
    `${file}: _rebuild_tensor_v2 must be called with (storage, offset, size, stride), got ()`,
  );
});

test('inspect of a legacy (pre-1.6) torch.save file says so, not "bad safetensors header"', () => {
  const file = write('legacy.pt', legacyTorchFile());
  expect(() => inspectFile(file)).toThrow(
    `${file}: not a torch.save zip archive (legacy pre-1.6 files are not supported: re-save them with a current PyTorch)`,
  );
});

test('a storage global named like an Object.prototype member ("constructor") is refused by name', () => {
  const pickle = Uint8Array.from([0x80, 0x02, ...new TextEncoder().encode('ctorch\nconstructor\n'), 0x2e]);
  const file = write('constructor.pt', torchZip(pickle));
  expect(() => u.loadTorchFile(file)).toThrow(`${file}: refused to load the global 'torch.constructor'`);
});

test('safetensors: a null tensor entry and dtype "constructor" are named in the message', () => {
  const nul = write('null.safetensors', safetensorsWithHeader('{"a": null}'));
  expect(() => u.loadSafetensors(nul)).toThrow(
    `${nul}: not a valid safetensors file: tensor 'a' must be an object {dtype, shape, data_offsets}, got null`,
  );
  const ctor = write(
    'ctor.safetensors',
    safetensorsWithHeader('{"a": {"dtype": "constructor", "shape": [1], "data_offsets": [0, 4]}}', new Uint8Array(4)),
  );
  expect(() => u.loadSafetensors(ctor)).toThrow(
    `${ctor}: not a valid safetensors file: tensor 'a' has unsupported dtype "constructor"`,
  );
  const meta = write('meta.safetensors', safetensorsWithHeader('{"__metadata__": "abc"}'));
  expect(() => u.loadSafetensors(meta)).toThrow(
    `${meta}: not a valid safetensors file: __metadata__ must map strings to strings`,
  );
});

test('a tensor named __proto__ survives safetensors and torch.save round trips', () => {
  const state: Record<string, u.Tensor> = Object.create(null);
  state['__proto__'] = u.tensor([1, 2, 3], { dtype: 'float32' });
  state.w = u.tensor([4], { dtype: 'float32' });
  const st = path.join(dir, 'proto.safetensors');
  u.saveSafetensors(st, state);
  const loaded = u.loadSafetensors(st).tensors;
  expect(Object.keys(loaded).sort()).toEqual(['__proto__', 'w']);
  expect(loaded['__proto__'].toArray()).toEqual([1, 2, 3]);
  const pt = path.join(dir, 'proto.pt');
  u.saveTorchStateDict(pt, state);
  const sd = u.importTorchStateDict(pt);
  expect(Object.keys(sd).sort()).toEqual(['__proto__', 'w']);
  expect(sd['__proto__'].toArray()).toEqual([1, 2, 3]);
});

test('inspect of a FIFO answers at once instead of blocking', () => {
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const r = runCli(['inspect', fifo], { timeoutMs: 30000 });
  expect(r.signal).toBeNull();
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(`unmix: ${fifo}: not a regular file (a FIFO)`);
  expect(() => u.loadSafetensors(fifo)).toThrow(`${fifo}: not a regular file (a FIFO)`);
  expect(() => u.loadTorchFile(fifo)).toThrow(`${fifo}: not a regular file (a FIFO)`);
}, 60000);
