// The committed parity fixtures are what the committed script makes with Debian's PyTorch.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const python = '/usr/bin/python3';
const hasTorch = fs.existsSync(python) && spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
// Without python3-torch these are skipped, and their names say why.
const withTorch = hasTorch ? test : test.skip;
const why = hasTorch ? '' : ` (skipped: ${python} has no torch; apt-get install python3-torch)`;

withTorch.each([
  ['ops.json', 'make_op_fixtures.py'],
  ['nn.json', 'make_nn_fixtures.py'],
])(`test/fixtures/%s is what %s makes${why}`, (file, script) => {
  const fixtures = path.join(__dirname, 'fixtures');
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-fixtures-')), file);
  execFileSync(python, [path.join(fixtures, script), out], { stdio: 'pipe' });
  expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync(path.join(fixtures, file), 'utf8'));
});
