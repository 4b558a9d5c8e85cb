// The parity fixtures come from the same LibTorch as the addon: the committed ones are what the
// committed scripts make with the torch and BLAS they name (Debian's 1.13 on OpenBLAS); under another
// LibTorch or BLAS the scripts make them at test time with that LibTorch's Python (support/python.ts).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
import { python, pythonBlasFingerprint, pythonHas, pythonTorchVersion, torchFixture } from './support/python';

const hasTorch = pythonHas('torch');
// Without a Python torch these are skipped, and their names say why.
const withTorch = hasTorch ? test : test.skip;
const why = hasTorch
  ? ''
  : ` (skipped: ${python} has no torch; apt-get install python3-torch, or set UNMIX_TEST_PYTHON)`;
const cases = [
  ['ops.json', 'make_op_fixtures.py'],
  ['nn.json', 'make_nn_fixtures.py'],
];
const committed = (file: string) =>
  JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', file), 'utf8')) as { torch: string; blas: string };

withTorch(`the test Python's torch is the LibTorch under test (${python})${why}`, () => {
  // "1.13.0a0" and "2.14.1+cu130" are LibTorch 1.13.0 and 2.14.1
  expect(pythonTorchVersion()!.replace(/(a\d+)?(\+.*)?$/, '')).toBe(u.info().libtorch);
});

withTorch.each(cases)(`test/fixtures/%s is what %s makes with the torch and BLAS it names${why}`, (file, script) => {
  const { torch, blas } = committed(file);
  if (pythonTorchVersion() !== torch || pythonBlasFingerprint() !== blas) {
    // Another torch or BLAS: the suite reads a fixture made now by this one; it must say so.
    const made = JSON.parse(fs.readFileSync(torchFixture(file, script), 'utf8'));
    expect(made.torch).toBe(pythonTorchVersion());
    expect(made.blas).toBe(pythonBlasFingerprint());
    expect(made.cases ?? made.mlp).toBeDefined();
    return;
  }
  const fixtures = path.join(__dirname, 'fixtures');
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-fixtures-')), file);
  execFileSync(python, [path.join(fixtures, script), out], { stdio: 'pipe' });
  expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync(path.join(fixtures, file), 'utf8'));
});
