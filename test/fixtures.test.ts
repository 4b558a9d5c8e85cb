// The committed parity fixtures are what the committed script makes with Debian's PyTorch.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const python = '/usr/bin/python3';
const hasTorch = fs.existsSync(python) && spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const withTorch = hasTorch ? test : test.skip;

withTorch(`test/fixtures/ops.json is up to date (regenerated with ${python} and torch)`, () => {
  const fixtures = path.join(__dirname, 'fixtures');
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-fixtures-')), 'ops.json');
  execFileSync(python, [path.join(fixtures, 'make_op_fixtures.py'), out], { stdio: 'pipe' });
  expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync(path.join(fixtures, 'ops.json'), 'utf8'));
});
