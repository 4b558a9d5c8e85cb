// One side of bench/parity/step-gradients.sh: MoCo + Un-Mix as examples/unmix_c10.ts builds it, from the
// runner's initial weights, fed its recorded batches and draws (`npm run parity -- --exchange draws`) for
// N steps of SGD; saves every parameter's gradient of step N as a torch.save file (keys grad.<name>).
//
//   npx tsx bench/parity/step-gradients.ts RUNS_DIR SEED WIDTH STEPS LR float32|float64 OUT.pt
import * as fs from 'fs';
import * as path from 'path';
import * as u from '../../lib';

const [runs, seedArg, widthArg, stepsArg, lrArg, dtype, out] = process.argv.slice(2);
if (!out || (dtype !== 'float32' && dtype !== 'float64'))
  throw new Error('usage: step-gradients.ts RUNS_DIR SEED WIDTH STEPS LR float32|float64 OUT.pt');
const [seed, width, steps, lr] = [seedArg, widthArg, stepsArg, lrArg].map(Number);
const batches = path.join(runs, `batches-moco-unmix-seed${seed}`);
const meta = u.readRecordedBatches(batches);
const { batch } = meta;
const [, height, side] = meta.shape;
if (steps > meta.itersPerEpoch) throw new Error(`${steps} steps: epoch 0 holds ${meta.itersPerEpoch}`);

// the runner's MoCo flags (bench/parity.ts sideArgs); lr: the run's first-epoch lr
const method = u.buildMoCoCifar({
  arch: 'resnet18',
  width,
  mocoDim: 128,
  mocoK: Math.max(1024, 2 * batch),
  mocoM: 0.99,
  mocoT: 0.1,
  bnSplits: 8,
  symmetric: true,
  unmix: true,
  prob: 0.5,
  beta: 1,
  mixedForwards: 2,
});
method.loadReferenceStateDict(u.importTorchStateDict(path.join(runs, `init-moco-unmix-${width}-seed${seed}.pth`)));
if (dtype === 'float64') method.to('float64');
const draws = u.readMoCoDraws(path.join(runs, `draws-moco-unmix-seed${seed}.jsonl`), {
  batch,
  symmetric: true,
  unmix: true,
  height,
  width: side,
});
const optimizer = new u.SGD(method.trainableParameters(), { lr, momentum: 0.9, weightDecay: 5e-4 });
method.train();

// a record: int32 indices [batch], then two float32 views [batch, 3, H, W]
const perView = batch * meta.shape.reduce((a, b) => a * b, 1);
const record = 4 * (batch + meta.views * perView);
const fd = fs.openSync(path.join(batches, 'epoch-0.bin'), 'r');
for (let i = 0; i < steps; i++) {
  const bytes = Buffer.alloc(record);
  fs.readSync(fd, bytes, 0, record, i * record);
  const pixels = new Float32Array(bytes.buffer, bytes.byteOffset + 4 * batch, meta.views * perView);
  const views = [0, 1].map((v) =>
    u
      .tensor(pixels.subarray(v * perView, (v + 1) * perView))
      .view([batch, ...meta.shape])
      .to(dtype),
  );
  optimizer.zeroGrad();
  const { loss, logs } = method.stepWith(views, draws[i]);
  loss.backward();
  console.log(`ts ${dtype} step ${i + 1}: loss ${logs.loss}`);
  if (i === steps - 1) {
    const grads: Record<string, u.Tensor> = {};
    for (const [name, p] of method.namedParameters()) if (p.grad) grads[`grad.${name}`] = p.grad;
    u.saveTorchStateDict(out, grads);
  }
  optimizer.step();
}
fs.closeSync(fd);
