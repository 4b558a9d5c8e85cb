// `unmix notebook`: the TypeScript kernel (tslab, installed in notebooks/kernel/ on first use, apart
// from the package's own TypeScript) registered with Jupyter, then Jupyter started on notebooks/.
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const KERNEL_NAME = 'unmix-tslab';

/** The package root (this file is lib/cli/ or dist/cli/). */
export const packageRoot = path.join(__dirname, '..', '..');

function has(command: string): boolean {
  return !spawnSync(command, ['--version'], { stdio: 'ignore' }).error;
}

/** tslab's command, installing notebooks/kernel's locked dependencies when they are missing. */
export function tslabCommand(): string {
  const kernelDir = path.join(packageRoot, 'notebooks', 'kernel');
  const bin = path.join(kernelDir, 'node_modules', '.bin', 'tslab');
  if (!fs.existsSync(bin)) {
    console.error(`unmix: installing the notebook kernel (tslab) into ${kernelDir}`);
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: kernelDir, stdio: 'inherit' });
  }
  return bin;
}

/** Registers the kernel with Jupyter (for this user) and returns its name. */
export function installKernel(): string {
  if (!has('jupyter'))
    throw new Error(
      'Jupyter is not installed: apt-get install jupyter-notebook (Debian/Ubuntu), or pip install notebook',
    );
  const spec = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-kernel-'));
  const kernel = {
    argv: [tslabCommand(), 'kernel', '--config-path', '{connection_file}'],
    display_name: 'TypeScript (unmix, tslab)',
    language: 'typescript',
  };
  fs.writeFileSync(path.join(spec, 'kernel.json'), JSON.stringify(kernel, null, 2));
  execFileSync('jupyter', ['kernelspec', 'install', '--user', '--name', KERNEL_NAME, spec], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  fs.rmSync(spec, { recursive: true, force: true });
  return KERNEL_NAME;
}

export function notebookCommand(options: {
  kernelOnly?: boolean;
  lab?: boolean;
  port?: number;
  browser: boolean;
}): void {
  const name = installKernel();
  console.log(`unmix: kernel '${name}' registered with Jupyter`);
  if (options.kernelOnly) return;
  const app = options.lab ? 'lab' : 'notebook';
  const args = [
    app,
    `--notebook-dir=${path.join(packageRoot, 'notebooks')}`,
    ...(options.port ? [`--port=${options.port}`] : []),
    ...(options.browser ? [] : ['--no-browser']),
  ];
  const child = spawn('jupyter', args, { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
}
