// SimCLR's negatives from every rank (ntXentGathered through allGatherWithGradNow, as SimCLR runs
// under N ranks) against solo-learn's simclr_loss_func + GatherLayer on torch.distributed, at W=2;
// and a SimCLR step's loss over 2 ranks against one process on both ranks' images.
import * as path from 'path';
import * as u from '../lib';
import { dist } from '../lib/distributed/binding';
import { python, pythonHas } from './support/python';
import { runRanks } from './support/ranks';
import { tinySimclr, views } from './support/simclr-gather-worker';

const ready = dist.gloo && pythonHas('torch.distributed');
const why = !dist.gloo
  ? ' (skipped: the addon was built without Gloo headers)'
  : !ready
    ? ` (skipped: ${python} has no torch.distributed)`
    : '';
const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));

(ready ? test : test.skip)(
  `the gathered loss and its gradient at W=2 equal solo-learn's, and a step's loss averaged over the ranks equals one process's${why}`,
  async () => {
    const [ts, py] = [
      await runRanks(
        process.execPath,
        ['--import', 'tsx', path.join(__dirname, 'support', 'simclr-gather-worker.ts')],
        2,
      ),
      await runRanks(python, [path.join(__dirname, 'fixtures', 'simclr_gather_twin.py')], 2),
    ];
    for (const r of [...ts, ...py]) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    type Seen = { loss: number; grad: number[]; stepLoss: number };
    const [t0, t1] = ts.map((r) => r.lines[0] as Seen);
    const [p0, p1] = py.map((r) => r.lines[0] as Seen);
    const lossDiff = Math.max(Math.abs(t0.loss - p0.loss), Math.abs(t1.loss - p1.loss));
    const gradDiff = Math.max(maxDiff(t0.grad, p0.grad), maxDiff(t1.grad, p1.grad));
    expect(t0.grad.length).toBe(30);
    expect(lossDiff).toBeLessThan(1e-12);
    expect(gradDiff).toBeLessThan(1e-12);
    expect(Math.abs(t0.loss - t1.loss)).toBeGreaterThan(1e-3); // the ranks' anchors differ
    // eval mode (BatchNorm per sample): the ranks' mean loss is one process's on all the images
    const method = tinySimclr().eval();
    const [a, b] = [views(0), views(1)];
    const whole = u.noGrad(() => method.stepWith([u.cat([a[0], b[0]]), u.cat([a[1], b[1]])], null).loss.item());
    const stepDiff = Math.abs((t0.stepLoss + t1.stepLoss) / 2 - whole);
    expect(stepDiff).toBeLessThan(1e-5); // float32
    console.log(
      `SimCLR over 2 ranks: |loss TS − solo-learn| ≤ ${lossDiff}, |grad| ≤ ${gradDiff} (float64); ` +
        `step loss, mean of ranks ${((t0.stepLoss + t1.stepLoss) / 2).toFixed(6)} vs one process ${whole.toFixed(6)} (float32, diff ${stepDiff})`,
    );
  },
);
