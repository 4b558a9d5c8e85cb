// The README's run command: the quick-start example trains on generated data, no download.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { device } from './helpers';

test('examples/quickstart.ts trains a classifier', () => {
  const root = path.join(__dirname, '..');
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'examples', 'quickstart.ts'), device], { cwd: root, encoding: 'utf8' });
  const accuracies = [...out.matchAll(/accuracy ([\d.]+)%/g)].map((m) => Number(m[1]));
  const losses = [...out.matchAll(/loss ([\d.]+)/g)].map((m) => Number(m[1]));
  expect(accuracies).toHaveLength(6);
  expect(accuracies[accuracies.length - 1]).toBeGreaterThan(90);
  expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
  expect(out).toMatch(/live tensors: 6 /);
});
