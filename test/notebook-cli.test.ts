// `unmix notebook --kernel-only`: the tslab kernel registered with Jupyter, its kernel.json starting
// the locked tslab by absolute path (what nbclient and Jupyter run). Needs Jupyter and the installed
// kernel (scripts/ci-notebooks.sh installs both); skipped with what to install otherwise.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..');
const tslab = path.join(root, 'notebooks', 'kernel', 'node_modules', '.bin', 'tslab');
const ready = !spawnSync('jupyter', ['--version'], { stdio: 'ignore' }).error && fs.existsSync(tslab);
const maybe = ready
  ? test
  : (name: string, fn: () => void) =>
      test.skip(
        `${name} (skipped: needs jupyter (apt-get install jupyter-client) and the kernel (cd notebooks/kernel && npm ci))`,
        fn,
      );

maybe(
  'unmix notebook --kernel-only registers unmix-tslab, whose argv[0] is the absolute path of the locked tslab',
  () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-jupyter-'));
    const env = { ...process.env, JUPYTER_DATA_DIR: data };
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'lib', 'cli', 'unmix.ts'), 'notebook', '--kernel-only'],
      { cwd: root, env, encoding: 'utf8' },
    );
    expect(out).toContain("unmix: kernel 'unmix-tslab' registered with Jupyter");
    const kernel = JSON.parse(fs.readFileSync(path.join(data, 'kernels', 'unmix-tslab', 'kernel.json'), 'utf8'));
    expect(kernel.argv).toEqual([tslab, 'kernel', '--config-path', '{connection_file}']);
    expect(path.isAbsolute(kernel.argv[0])).toBe(true);
    const listed = JSON.parse(execFileSync('jupyter', ['kernelspec', 'list', '--json'], { env, encoding: 'utf8' }));
    expect(listed.kernelspecs['unmix-tslab'].resource_dir).toBe(path.join(data, 'kernels', 'unmix-tslab'));
    fs.rmSync(data, { recursive: true, force: true });
  },
);
