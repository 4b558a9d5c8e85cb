// LibTorch warnings (TORCH_WARN) reach Node as process warnings, once per distinct message,
// instead of glog lines on stderr.
import { execFileSync } from 'child_process';
import * as path from 'path';

test('a LibTorch warning becomes one LibTorchWarning', () => {
  const root = path.join(__dirname, '..');
  const script = `
    const u = require('./lib');
    const seen = [];
    process.on('warning', (w) => seen.push(w.name + ': ' + w.message));
    const x = u.ones([2], { requiresGrad: true });
    const y = x.mul(2);
    y.grad; y.grad; // reading .grad of a non-leaf warns in LibTorch
    setImmediate(() => console.log(JSON.stringify(seen)));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const seen = JSON.parse(out.trim().split('\n').pop()!) as string[];
  expect(seen).toHaveLength(1);
  expect(seen[0]).toMatch(
    /^LibTorchWarning: The \.grad attribute of a Tensor that is not a leaf Tensor is being accessed/,
  );
});
