// Autocast (mixed precision): the region switches LibTorch's autocast on and restores it (nesting,
// throws, async misuse, bad arguments), a region computes what torch.autocast computes (fixture made
// with Debian's python3-torch at test time), and the amp options of MoCo and SwAV stay close to float32.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
import { MoCo } from '../lib/ssl/moco';
import { SwAV } from '../lib/ssl/swav';
import { Rng } from '../lib/rng';
import { device } from './helpers';
import { python } from './support/python';

const deviceType = device === 'cpu' ? 'cpu' : 'cuda';
const mm = () => u.ones([4, 4], { device }).matmul(u.ones([4, 4], { device }));

test('inside a region matmuls run in bfloat16; outside, and after nesting and throws, in float32 again', () => {
  expect(mm().dtype).toBe('float32');
  const inside = u.autocast({ device, dtype: 'bfloat16' }, () => {
    const outer = mm().dtype;
    const excluded = u.autocast({ device, enabled: false }, () => mm().dtype);
    return { outer, excluded, after: mm().dtype };
  });
  expect(inside).toEqual({ outer: 'bfloat16', excluded: 'float32', after: 'bfloat16' });
  expect(mm().dtype).toBe('float32');
  expect(() =>
    u.autocast({ device, dtype: 'bfloat16' }, () => {
      throw new Error('boom');
    }),
  ).toThrow('boom');
  expect(mm().dtype).toBe('float32');
  // elementwise ops keep their input dtype, as in PyTorch
  expect(u.autocast({ device, dtype: 'bfloat16' }, () => u.ones([2], { device }).add(1).dtype)).toBe('float32');
});

test('an async function is refused with a clear error, and the state is restored', () => {
  expect(() => u.autocast({ device }, async () => mm())).toThrow(
    /autocast: the function returned a Promise; .* must be synchronous/,
  );
  expect(mm().dtype).toBe('float32');
});

test('bad device or dtype: TypeErrors, nothing switched on', () => {
  expect(() => u.autocast({ device: 'mps' as u.Device }, () => 1)).toThrow(TypeError);
  expect(() => u.autocast({ device, dtype: 'float32' as u.AutocastDtype }, () => 1)).toThrow(
    /autocast: dtype must be 'bfloat16' or 'float16', got 'float32'/,
  );
  expect(mm().dtype).toBe('float32');
});

test('the same dtypes and values as torch.autocast (bfloat16)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-autocast-'));
  try {
    execFileSync(python, [path.join(__dirname, 'fixtures', 'make_autocast_fixtures.py'), dir, deviceType], {
      stdio: 'pipe',
    });
    const expected = JSON.parse(fs.readFileSync(path.join(dir, 'autocast.json'), 'utf8')).dtypes as Record<
      string,
      string
    >;
    const t = u.loadTorchFile(path.join(dir, 'autocast.pt'), { device }).tensors;
    const outputs = u.autocast({ device, dtype: 'bfloat16' }, () => {
      const h = u.conv2d(t.x, t.w, { bias: t.b, padding: 1 });
      const y = u.linear(h.relu().flatten(1), t.lw, t.lb);
      return { h, y, p: u.logSoftmax(y, 1), m: t.x.flatten(1).matmul(t.x.flatten(1).t()) };
    });
    for (const [name, out] of Object.entries(outputs)) {
      expect([name, out.dtype]).toEqual([name, expected[name]]);
      const diff = out.float().sub(t[name]).abs().max().item() as number;
      const scale = t[name].abs().max().item() as number;
      expect(diff).toBeLessThanOrEqual(1e-2 * scale + 1e-3); // bfloat16 keeps 8 bits of mantissa
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('MoCo amp', () => {
  const step = (amp: 'bfloat16' | null) => {
    u.manualSeed(3);
    const moco = new MoCo({ preset: 'cifar', width: 8, dim: 8, K: 32, bnSplits: 2, device, amp });
    u.manualSeed(4);
    const x1 = u.randn([8, 3, 16, 16], { device });
    const x2 = u.randn([8, 3, 16, 16], { device });
    const { loss } = moco.trainingStep([x1, x2], {
      iteration: 0,
      epoch: 0,
      itersPerEpoch: 1,
      totalEpochs: 1,
      rng: new Rng(9),
    });
    loss.backward();
    return { loss: loss.item() as number, grads: moco.trainableParameters().map((p) => p.grad!) };
  };

  test('bfloat16: a loss within 5% of float32 (and not the same number), float32 gradients', () => {
    const ref = step(null);
    const amp = step('bfloat16');
    expect(amp.loss).not.toBe(ref.loss); // autocast really ran
    // bfloat16 keeps 8 bits of mantissa (0.4% per rounding) and oneDNN picks its bf16 kernels by CPU: 2.0% seen
    expect(Math.abs(amp.loss - ref.loss)).toBeLessThan(0.05 * Math.abs(ref.loss));
    for (const g of amp.grads) expect(g.dtype).toBe('float32');
    // all gradients as one vector: bfloat16 noise through the network turns them, but only a little
    const flat = (gs: u.Tensor[]) => u.cat(gs.map((g) => g.flatten()));
    const [a, b] = [flat(amp.grads), flat(ref.grads)];
    const cos = (a.dot(b).item() as number) / ((a.norm().item() as number) * (b.norm().item() as number));
    console.log(`MoCo amp bfloat16: loss ${amp.loss} vs ${ref.loss}; gradient cosine ${cos}`);
    expect(cos).toBeGreaterThan(0.8); // measured: 0.96 on an AVX-512 CPU, 0.90 on one without (oneDNN bf16 kernels differ)
  });

  test('a bad amp value is refused', () => {
    expect(() => new MoCo({ preset: 'cifar', width: 8, dim: 8, K: 32, device, amp: 'float16' as 'bfloat16' })).toThrow(
      /MoCo: amp must be 'bfloat16' or null \(float16 would need loss scaling/,
    );
  });
});

describe('SwAV amp', () => {
  const step = (amp: 'bfloat16' | null) => {
    u.manualSeed(1);
    const m = new SwAV({
      backbone: { block: 'bottleneck', layers: [1], baseWidth: 8, stem: 'swav-cifar' },
      hiddenMlp: 16,
      featDim: 8,
      nPrototypes: 6,
      batchSize: 4,
      device,
      amp,
    });
    u.manualSeed(2);
    const crops = [u.randn([4, 3, 8, 8], { device }), u.randn([4, 3, 8, 8], { device })];
    const { scores } = m.forwardCrops(crops);
    const { loss } = m.trainingStep(crops, {
      iteration: 0,
      epoch: 0,
      itersPerEpoch: 1,
      totalEpochs: 1,
      rng: new Rng(3),
    });
    loss.backward();
    return {
      scoresDtype: scores.dtype,
      loss: loss.item() as number,
      gradDtype: m.prototypes.weight.grad?.dtype ?? null,
    };
  };

  test('bfloat16: float32 scores and a loss within 5% of float32 (and not the same number)', () => {
    const ref = step(null);
    const amp = step('bfloat16');
    expect(amp.scoresDtype).toBe('float32');
    expect(amp.loss).not.toBe(ref.loss);
    expect(Math.abs(amp.loss - ref.loss)).toBeLessThan(0.05 * Math.abs(ref.loss)); // 1.6% measured on CPU (scores / 0.1 magnify bf16 rounding)
    console.log(`SwAV amp bfloat16: loss ${amp.loss} vs ${ref.loss}`);
  });

  test('a bad amp value is refused', () => {
    expect(() => new SwAV({ batchSize: 4, device, amp: 'float16' as 'bfloat16' })).toThrow(
      /SwAV: amp must be 'bfloat16' or null/,
    );
  });
});
