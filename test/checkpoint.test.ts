// safetensors files and whole training-state checkpoints: exact round trips, clear errors on
// malformed files, and atomic writes (an interrupted save leaves the previous file readable).
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
import { device } from './helpers';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-ckpt-'));
const file = (name: string) => path.join(dir, name);

describe('safetensors', () => {
  test('every dtype round-trips bit for bit, with metadata', () => {
    const tensors: Record<string, u.Tensor> = {};
    for (const dtype of u.DTYPES) tensors[`t_${dtype}`] = u.randn([3, 5], { device }).mul(10).to(dtype);
    tensors.scalar = u.tensor(3.5, { device });
    tensors.empty = u.zeros([0, 4], { device });
    u.saveSafetensors(file('all.safetensors'), tensors, { note: 'hello' });
    const { tensors: back, metadata } = u.loadSafetensors(file('all.safetensors'), { device });
    expect(metadata).toEqual({ note: 'hello' });
    expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
    for (const [k, t] of Object.entries(tensors)) {
      expect(back[k].dtype).toBe(t.dtype);
      expect(back[k].shape).toEqual(t.shape);
      expect(back[k].equal(t)).toBe(true);
    }
  });

  test('the layout is the safetensors one (header length, JSON, 8-byte aligned data)', () => {
    u.saveSafetensors(file('layout.safetensors'), { a: u.tensor(new Float32Array([1, 2])) }, { k: 'v' });
    const bytes = fs.readFileSync(file('layout.safetensors'));
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    expect(JSON.parse(bytes.subarray(8, 8 + n).toString())).toEqual({
      __metadata__: { k: 'v' },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    });
    expect(Array.from(new Float32Array(Uint8Array.from(bytes.subarray(8 + n)).buffer))).toEqual([1, 2]);
    expect(u.inspectSafetensors(file('layout.safetensors')).tensors).toEqual([
      { name: 'a', dtype: 'float32', shape: [2] },
    ]);
  });

  test('malformed files give one clear error', () => {
    u.saveSafetensors(file('good.safetensors'), { a: u.ones([4, 4]), b: u.ones([2]) });
    const good = fs.readFileSync(file('good.safetensors'));
    const variants: [string, Buffer, RegExp][] = [
      ['truncated', good.subarray(0, good.byteLength - 3), /truncated or padded/],
      ['tiny', good.subarray(0, 5), /only 5 bytes/],
      [
        'huge header',
        Buffer.concat([Buffer.from([255, 255, 255, 255, 0, 0, 0, 0]), good.subarray(8)]),
        /header length .* exceeds the file/,
      ],
      [
        'not json',
        Buffer.concat([good.subarray(0, 8), Buffer.from('{"a": ['), good.subarray(15)]),
        /header is not JSON/,
      ],
    ];
    for (const [name, bytes, message] of variants) {
      fs.writeFileSync(file(`${name}.safetensors`), bytes);
      expect(() => u.loadSafetensors(file(`${name}.safetensors`))).toThrow(message);
    }
    const header = (h: object) => {
      const json = JSON.stringify(h);
      const b = Buffer.alloc(8 + json.length + 16);
      b.writeBigUInt64LE(BigInt(json.length));
      b.write(json, 8);
      return b;
    };
    fs.writeFileSync(file('dtype.safetensors'), header({ a: { dtype: 'C64', shape: [2], data_offsets: [0, 16] } }));
    expect(() => u.loadSafetensors(file('dtype.safetensors'))).toThrow(/unsupported dtype "C64"/);
    fs.writeFileSync(file('size.safetensors'), header({ a: { dtype: 'F32', shape: [5], data_offsets: [0, 16] } }));
    expect(() => u.loadSafetensors(file('size.safetensors'))).toThrow(/needs 20 bytes, its offsets span 16/);
    fs.writeFileSync(file('gap.safetensors'), header({ a: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }));
    expect(() => u.loadSafetensors(file('gap.safetensors'))).toThrow(/starts at 8, expected 0/);
    expect(() => u.loadSafetensors(file('missing.safetensors'))).toThrow(/cannot read/);
  });
});

function model() {
  return new u.Sequential(
    new u.Linear(6, 8, { device }),
    new u.BatchNorm1d(8, { device }),
    new u.ReLU(),
    new u.Linear(8, 3, { device }),
  );
}

describe('checkpoints', () => {
  test('a resumed run continues exactly like an uninterrupted one', () => {
    // Reference: 6 steps straight. Resumed: 3 steps, checkpoint, fresh objects, load, 3 steps.
    const run = (steps: number, net: u.Sequential, opt: u.SGD, queue: u.Tensor) => {
      for (let i = 0; i < steps; i++) {
        u.scope(() => {
          const x = u.randn([16, 6], { device }); // the RNG must resume too
          opt.zeroGrad();
          net.forward(x).square().mean().backward();
          opt.step();
          u.noGrad(() => queue.copy_(queue.roll(1, 0)).index(0).copy_(x.index(0)));
        });
      }
    };
    u.manualSeed(7);
    const refNet = model();
    const refOpt = new u.SGD(refNet.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
    const refQueue = u.zeros([4, 6], { device }).keep();
    run(6, refNet, refOpt, refQueue);

    u.manualSeed(7);
    const net = model();
    const opt = new u.SGD(net.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
    const queue = u.zeros([4, 6], { device }).keep();
    run(3, net, opt, queue);
    u.saveCheckpoint(file('run.ckpt'), {
      modules: { net },
      optimizers: { opt },
      tensors: { queue },
      epoch: 1,
      step: 3,
      metadata: { args: { lr: 0.05 } },
    });

    u.manualSeed(999); // a fresh process would start elsewhere
    const net2 = model();
    const opt2 = new u.SGD(net2.parameters(), { lr: 0.5 });
    const loaded = u.loadCheckpoint(
      file('run.ckpt'),
      { modules: { net: net2 }, optimizers: { opt: opt2 } },
      { device },
    );
    expect(loaded.epoch).toBe(1);
    expect(loaded.step).toBe(3);
    expect(loaded.metadata).toEqual({ args: { lr: 0.05 } });
    expect(opt2.paramGroups[0].lr).toBe(0.05);
    expect(opt2.paramGroups[0].momentum).toBe(0.9);
    const queue2 = loaded.tensors.queue;
    run(3, net2, opt2, queue2);

    const ref = refNet.stateDict();
    for (const [k, t] of Object.entries(net2.stateDict()))
      expect({ k, same: t.equal(ref[k]) }).toEqual({ k, same: true });
    expect(queue2.equal(refQueue)).toBe(true);
  });

  test('a mismatching target changes nothing and says why', () => {
    const net = model();
    u.saveCheckpoint(file('small.ckpt'), {
      modules: { net },
      optimizers: { opt: new u.SGD(net.parameters(), { lr: 0.1 }) },
    });
    const other = new u.Sequential(new u.Linear(6, 5, { device }));
    const before = other.stateDict()['0.weight'].clone();
    expect(() => u.loadCheckpoint(file('small.ckpt'), { modules: { net: other } })).toThrow(
      /module 'net' does not match: .*missing keys|wrong shapes/,
    );
    expect(other.stateDict()['0.weight'].equal(before)).toBe(true);
    expect(() => u.loadCheckpoint(file('small.ckpt'), { modules: { encoder: net } })).toThrow(/no module 'encoder'/);
    expect(() =>
      u.loadCheckpoint(file('small.ckpt'), {
        optimizers: { opt: new u.SGD([u.zeros([1], { requiresGrad: true })], { lr: 1 }) },
      }),
    ).toThrow(/optimizer 'opt' has 6 parameters in its groups, the target has 1/);
    u.saveSafetensors(file('plain.safetensors'), { a: u.ones([1]) });
    expect(() => u.loadCheckpoint(file('plain.safetensors'))).toThrow(/not an unmix checkpoint/);
  });

  test('a save killed part-way leaves the previous checkpoint readable', async () => {
    const target = file('atomic.ckpt');
    u.saveSafetensors(target, { w: u.full([8], 1, { dtype: 'float32' }) }, { version: 'old' });
    // A child process writes a large file to the same path and is killed while writing.
    const script = `const u = require('./lib'); u.saveSafetensors(${JSON.stringify(target)}, { big: u.ones([64, 1024, 1024]) }, { version: 'new' });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: path.join(__dirname, '..'),
      stdio: 'ignore',
    });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        const partial = fs
          .readdirSync(dir)
          .find((f) => f.startsWith('.atomic.ckpt.') && fs.statSync(path.join(dir, f)).size > 0);
        if (partial) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve();
        }
      }, 2);
    });
    await new Promise((r) => child.once('exit', r));
    const { tensors, metadata } = u.loadSafetensors(target);
    expect(metadata.version).toBe('old');
    expect(tensors.w.toArray()).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  }, 60000);
});
