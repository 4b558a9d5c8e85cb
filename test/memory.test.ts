// Tensor lifetime: dispose, scopes (sync and async), finalizers, live counts and bytes, and a
// long training-style loop that must stay flat.
import { execFileSync } from 'child_process';
import * as path from 'path';
import * as u from '../lib';
import { device, settle } from './helpers';

test('dispose is idempotent and use after dispose is a clear Error', () => {
  const t = u.ones([4], { device });
  t.dispose();
  t.dispose();
  expect(t.isDisposed).toBe(true);
  expect(() => t.add(1)).toThrow('add: the tensor was disposed and can no longer be used');
  expect(() => t.data()).toThrow(/disposed/);
  expect(() => t.shape).toThrow(/disposed/);
});

test('Symbol.dispose frees at the end of a block', () => {
  const before = u.liveTensors().count;
  {
    using t = u.ones([4], { device });
    expect(u.liveTensors().count).toBe(before + 1);
    expect(t.sum().item()).toBe(4);
  }
  // the sum above is not in a scope; only `t` was freed by `using`
  expect(u.liveTensors().count).toBe(before + 1);
});

test('live bytes count each storage once and fall on dispose', () => {
  const before = u.liveTensors();
  const t = u.zeros([256, 1024], { device }); // 1 MiB of float32
  const view = t.view(-1);
  const after = u.liveTensors();
  expect(after.count - before.count).toBe(2);
  expect(after.bytes - before.bytes).toBe(1 << 20);
  const key = t.device;
  expect(after.devices[key].bytes - (before.devices[key]?.bytes ?? 0)).toBe(1 << 20);
  t.dispose();
  expect(u.liveTensors().bytes - before.bytes).toBe(1 << 20); // the view still holds the storage
  view.dispose();
  expect(u.liveTensors().bytes).toBe(before.bytes);
});

describe('scopes', () => {
  test('free what the block created except what it returns', () => {
    const before = u.liveTensors().count;
    const { kept, list } = u.scope(() => {
      const a = u.ones([3], { device });
      const b = a.mul(2);
      b.add(1);
      return { kept: b, list: [a.sub(1)] };
    });
    expect(u.liveTensors().count).toBe(before + 2);
    expect(kept.toArray()).toEqual([2, 2, 2]);
    expect(list[0].toArray()).toEqual([0, 0, 0]);
  });

  test('nested scopes hand returned tensors to the parent', () => {
    const before = u.liveTensors().count;
    u.scope(() => {
      const inner = u.scope(() => u.ones([2], { device }).mul(3));
      expect(inner.isDisposed).toBe(false);
    });
    expect(u.liveTensors().count).toBe(before);
  });

  test('keep() exempts tensors from every scope', () => {
    const w = u.scope(() => u.keep(u.ones([2], { device })));
    u.scope(() => w.mul(2));
    expect(w.isDisposed).toBe(false);
    w.dispose();
  });

  test('a throwing block frees what it created', () => {
    const before = u.liveTensors().count;
    expect(() =>
      u.scope(() => {
        u.ones([2], { device });
        throw new Error('stop');
      }),
    ).toThrow('stop');
    expect(u.liveTensors().count).toBe(before);
  });

  test('async scopes work across await and do not free each other', async () => {
    await settle();
    const before = u.liveTensors().count;
    const slow = u.scope(async () => {
      const a = u.ones([2], { device });
      await new Promise((r) => setTimeout(r, 20));
      return a.mul(5);
    });
    const fast = u.scope(async () => {
      const b = u.ones([2], { device });
      await new Promise((r) => setTimeout(r, 1));
      return b.mul(7);
    });
    const [s, f] = await Promise.all([slow, fast]);
    expect(s.toArray()).toEqual([5, 5]);
    expect(f.toArray()).toEqual([7, 7]);
    expect(u.liveTensors().count).toBe(before + 2);
    s.dispose();
    f.dispose();
  });
});

test('the GC frees tensors no scope owns: made outside scopes, returned from the outermost, kept, or made by work a scope left running', () => {
  // Own process: see test/support/gc-collects.ts for why not in this jest worker.
  const script = path.join(__dirname, 'support', 'gc-collects.ts');
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', script], {
    cwd: path.join(__dirname, '..'),
    encoding: 'utf8',
    env: { ...process.env, UNMIX_TEST_DEVICE: device },
  });
  const r = JSON.parse(out.trim().split('\n').pop()!);
  expect([r.unscopedMade, r.escapedMade, r.lateMade]).toEqual([2000, 2000, 500]);
  // a finished scope must not keep what work it left running made: that would never be freed
  expect([r.unscopedLeft, r.escapedLeft, r.lateLeft]).toEqual([0, 0, 0]);
}, 120000);

test('live bytes follow a tensor re-pointed or resized in place: module.to(), set_, resize_', () => {
  const live = () => u.liveTensors();
  const before = live();
  const linear = u.scope(() => new u.Linear(1000, 100, { device })); // 100,100 float32 parameters
  expect(live().bytes - before.bytes).toBe(400400);
  linear.to('float64'); // set_data: the same two tensors, on new storages
  expect([live().count - before.count, live().bytes - before.bytes]).toEqual([2, 800800]);
  linear.to('float32');
  expect([live().count - before.count, live().bytes - before.bytes]).toEqual([2, 400400]);

  const t = u.zeros([1024], { device });
  u.call('resize_', [t, [4096]]); // the same storage, grown
  expect(live().bytes - before.bytes).toBe(400400 + 4 * 4096);
  const other = u.zeros([256], { device });
  u.call('set_', [t, other]); // t now shares other's storage: its own is gone
  expect(live().bytes - before.bytes).toBe(400400 + 4 * 256);
  other.dispose();
  expect(live().bytes - before.bytes).toBe(400400 + 4 * 256); // t still holds it
  t.dispose();
  for (const p of linear.parameters()) p.dispose();
  expect([live().count, live().bytes]).toEqual([before.count, before.bytes]);

  // a tensor the GC owns: the bytes reported to V8 follow too
  const gcBefore = live().gcBytes;
  const owned = u.zeros([1 << 20], { device: 'cpu', dtype: 'uint8' });
  u.call('resize_', [owned, [4 << 20]]);
  expect(live().gcBytes - gcBefore).toBe(4 << 20);
  owned.dispose();
  expect(live().gcBytes).toBe(gcBefore);
});

test('only tensors the GC frees weigh on its heuristics (V8 external memory)', () => {
  // Reporting a scope's churn to V8 set off major GCs that took the cores from LibTorch; tensors
  // no scope owns must still be reported, or forgotten ones would not hasten a collection.
  const external = () => u.liveTensors().gcBytes;
  const mib = 1 << 20;
  const before = external();
  u.scope(() => {
    const big = u.zeros([8 * mib], { device: 'cpu', dtype: 'uint8' });
    expect(external() - before).toBeLessThan(mib);
    return big.shape;
  });
  const kept = u.zeros([8 * mib], { device: 'cpu', dtype: 'uint8' }); // no scope: the GC's
  expect(external() - before).toBeGreaterThanOrEqual(7 * mib);
  kept.dispose();
  expect(external() - before).toBeLessThan(mib);
});

test('a handle outlives nothing: a disposed tensor stays disposed when its slot is reused', () => {
  const a = u.ones([2], { device });
  a.dispose();
  const b = u.full([2], 7, { device }); // likely takes a's slot, with a new generation
  expect(() => a.add(1)).toThrow('add: the tensor was disposed and can no longer be used');
  expect(() => u.call('add', [a, b])).toThrow(/the tensor was disposed/);
  expect(b.toArray()).toEqual([7, 7]);
  b.dispose();
});

test('10,000 forward/backward/update steps keep live tensors and RSS flat', () => {
  // Bound: after 2,000 warm-up steps, the next 10,000 leave the live-tensor count and bytes
  // unchanged and grow RSS by less than 16 MiB. Leaking one 64x32 activation per step would add
  // 80 MiB. The allocator's own RSS drifts by a few MiB without a trend (+5.2 MiB over 10,000 steps,
  // +3.0 MiB over 30,000 here), hence the margin. Own process, so jest's memory is not counted.
  const script = path.join(__dirname, 'memory-loop.ts');
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, '2000', '10000'], {
    cwd: path.join(__dirname, '..'),
    encoding: 'utf8',
    env: { ...process.env, UNMIX_TEST_DEVICE: device },
  });
  const { checkpoints, firstLoss, lastLoss } = JSON.parse(out.trim().split('\n').pop()!);
  const [start, end] = checkpoints;
  expect(end.step - start.step).toBe(10000);
  expect(end.live).toBe(start.live);
  expect(end.bytes).toBe(start.bytes);
  expect(end.rss - start.rss).toBeLessThan(16 * 1024 * 1024);
  expect(lastLoss).toBeLessThan(firstLoss); // the loop really trained
});
