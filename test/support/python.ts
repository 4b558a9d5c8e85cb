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

/**
 * A committed JSON fixture (test/fixtures/FILE, which records the torch that made it), or, when
 * the test Python's torch is another version, the same script's output for that torch, made once
 * under the temp folder (keyed by the torch version and the script's content).
 */
export function torchFixture(file: string, script: string): string {
  const committed = path.join(__dirname, '..', 'fixtures', file);
  const made = (JSON.parse(fs.readFileSync(committed, 'utf8')) as { torch: string }).torch;
  const ours = pythonTorchVersion();
  if (ours === null || ours === made) return committed;
  const source = path.join(__dirname, '..', 'fixtures', script);
  const key = createHash('sha256').update(fs.readFileSync(source)).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), `unmix-fixtures-torch-${ours.replace(/[^\w.+-]/g, '_')}-${key}`);
  const out = path.join(dir, file);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(dir, { recursive: true });
    const partial = `${out}.${process.pid}.tmp`;
    execFileSync(python, [source, partial], { stdio: 'pipe' });
    fs.renameSync(partial, out);
  }
  return out;
}
