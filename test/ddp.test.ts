// DistributedDataParallel against torch's, on the same LibTorch: two Gloo ranks on each side, the
// same model, initialisation (different on each rank), batches, a no_sync micro-batch and SGD.
import * as path from 'path';
import * as u from '../lib';
import { dist } from '../lib/distributed/binding';
import { python, pythonHas } from './support/python';
import { runRanks } from './support/ranks';

const ready = dist.gloo && pythonHas('torch.distributed');
const why = !dist.gloo
  ? ' (skipped: the addon was built without Gloo headers)'
  : !ready
    ? ` (skipped: ${python} has no torch.distributed)`
    : '';

(ready ? test : test.skip)(`weights after 5 steps at W=2 equal torch DDP's bit for bit${why}`, async () => {
  const [ts, py] = [
    await runRanks(process.execPath, ['--import', 'tsx', path.join(__dirname, 'support', 'ddp-worker.ts')], 2),
    await runRanks(python, [path.join(__dirname, 'fixtures', 'ddp_twin.py')], 2),
  ];
  for (const r of [...ts, ...py])
    expect({ code: r.code, fatal: r.lines[0]?.fatal }).toEqual({ code: 0, fatal: undefined });
  type Seen = { rank: number; state: Record<string, number[]> };
  const [t0, t1] = ts.map((r) => r.lines[0] as Seen);
  const [p0, p1] = py.map((r) => r.lines[0] as Seen);
  const params = ['0.weight', '0.bias', '1.weight', '1.bias', '3.weight', '3.bias'];
  for (const key of params) {
    expect(t0.state[key]).toEqual(p0.state[key]);
    expect(t1.state[key]).toEqual(p1.state[key]);
    expect(t1.state[key]).toEqual(t0.state[key]); // every rank holds the same weights
  }
  // rank 0's buffers (BatchNorm's running statistics) as torch's
  for (const key of ['1.running_mean', '1.running_var']) expect(t0.state[key]).toEqual(p0.state[key]);
  // the weights moved away from rank 0's initialisation
  const init = u.arange(0, 48, 1, { dtype: 'float64' }).mul(0.37).sin().mul(0.3);
  expect(t0.state['0.weight']).not.toEqual(Array.from(init.data() as Float64Array));
});
