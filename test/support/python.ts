// The Python whose torch is the LibTorch under test: parity fixtures and twins must come from the
// same LibTorch as the addon. UNMIX_TEST_PYTHON, else the Python that provided LibTorch at build
// time (build/addon.json), else Debian's /usr/bin/python3 (python3-torch is libtorch-dev's twin).
import { execFileSync, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { addonRecord } from '../../lib/native';

export const python: string = process.env.UNMIX_TEST_PYTHON || addonRecord.libtorch.python || '/usr/bin/python3';

/** Whether `python` can import these modules. */
export function pythonHas(modules: string): boolean {
  return fs.existsSync(python) && spawnSync(python, ['-c', `import ${modules}`], { stdio: 'ignore' }).status === 0;
}

let version: string | null | undefined;

/** `torch.__version__` of `python` ("1.13.0a0", "2.14.1+cu130"), or null without torch. */
export function pythonTorchVersion(): string | null {
  if (version === undefined) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    version = r.status === 0 ? r.stdout.trim() : null;
  }
  return version;
}

let blas: string | null | undefined;

/** The BLAS fingerprint of `python`'s torch (test/fixtures/blas_fingerprint.py), or null. */
export function pythonBlasFingerprint(): string | null {
  if (blas === undefined) {
    const script = path.join(__dirname, '..', 'fixtures', 'blas_fingerprint.py');
    const r = spawnSync(python, [script], { encoding: 'utf8' });
    blas = r.status === 0 ? r.stdout.trim().split(' ')[1] : null;
  }
  return blas;
}

/**
 * A committed JSON fixture (test/fixtures/FILE, which records the torch and the BLAS that made it),
 * or, when the test Python's torch is another version or multiplies with another BLAS (Debian's
 * LibTorch uses whichever libblas.so.3 is installed), the same script's output for this torch, made
 * once under the temp folder (keyed by the torch version, the BLAS and the script's content).
 */
export function torchFixture(file: string, script: string): string {
  const committed = path.join(__dirname, '..', 'fixtures', file);
  const made = JSON.parse(fs.readFileSync(committed, 'utf8')) as { torch: string; blas?: string };
  const ours = pythonTorchVersion();
  if (ours === null) return committed;
  const ourBlas = pythonBlasFingerprint();
  if (ours === made.torch && ourBlas === made.blas) return committed;
  const source = path.join(__dirname, '..', 'fixtures', script);
  const key = createHash('sha256').update(fs.readFileSync(source)).digest('hex').slice(0, 12);
  const tag = `${ours}-${ourBlas}`.replace(/[^\w.+-]/g, '_');
  const dir = path.join(os.tmpdir(), `unmix-fixtures-torch-${tag}-${key}`);
  const out = path.join(dir, file);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(dir, { recursive: true });
    const partial = `${out}.${process.pid}.tmp`;
    execFileSync(python, [source, partial], { stdio: 'pipe' });
    fs.renameSync(partial, out);
  }
  return out;
}
