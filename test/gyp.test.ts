// binding.gyp builds the same sources with node-gyp, from the same LibTorch discovery.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..');

test('npm run compile:gyp builds a working addon', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-gyp-'));
  for (const entry of ['package.json', 'binding.gyp', 'native', 'scripts']) {
    fs.cpSync(path.join(root, entry), path.join(work, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(work, 'node_modules'));
  execFileSync('npm', ['run', 'compile:gyp'], { cwd: work, stdio: 'pipe', env: { ...process.env, JOBS: 'max' } });

  const addon = path.join(work, 'build', 'Release', 'unmix.node');
  // Raw native use: handles come back as numbers; tensors go in as objects holding theirs under
  // the key given at load.
  const script = `const n = require(${JSON.stringify(addon)});
    const key = Symbol('handle');
    n.setTensorHandleKey(key);
    const a = { [key]: n.callOp(n.resolveOp('arange'), [4], { dtype: 'float32' }) };
    const squared = { [key]: n.callOp(n.resolveOp('mul'), [a, a]) };
    console.log(JSON.stringify(Array.from(new Float32Array(n.toBuffer(squared)))));`;
  expect(JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }))).toEqual([0, 1, 4, 9]);
  expect(JSON.parse(fs.readFileSync(path.join(work, 'build', 'addon.json'), 'utf8')).addon).toBe(
    'build/Release/unmix.node',
  );
  const dynamic = execFileSync('readelf', ['-d', addon], { encoding: 'utf8' });
  expect(dynamic).toMatch(/RUNPATH.*\$ORIGIN\/libtorch/);
  fs.rmSync(work, { recursive: true, force: true });
}, 600000);
