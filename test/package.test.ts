// The published package: the packed tarball, installed into an empty project next to a matching
// LibTorch on a PATH with no compiler and no cmake, uses its prebuilt addon, compiles nothing, and
// trains. By default the tarball is this checkout packed with the prebuild of the addon it built;
// CI passes the tarball carrying every prebuild (UNMIX_PACKAGE_TARBALL, UNMIX_PACKAGE_PREBUILDS:
// the tags it must list) and runs this file once per LibTorch (.ci/run).
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prebuildTag } = require('../scripts/prebuild-path') as {
  prebuildTag: (l: { version: string; cuda: boolean }) => string;
};

const root = path.join(__dirname, '..');
const loaded = u.info();

/** A bin folder with node, npm, sh and (for a Python's LibTorch) its python3: no cc, c++, g++, cmake, make or ninja. */
function noCompilerPath(): string {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-nocc-'));
  const npmCli = findNpmCli();
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.writeFileSync(path.join(bin, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${npmCli}" "$@"\n`, { mode: 0o755 });
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  // a wrapper, not a link: a venv's Python finds its packages from where it is called
  if (loaded.python)
    fs.writeFileSync(path.join(bin, 'python3'), `#!/bin/sh\nexec "${loaded.python}" "$@"\n`, { mode: 0o755 });
  return bin;
}

/** npm's own CLI script, from the npm that runs this suite. */
function findNpmCli(): string {
  const npmBin = execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim();
  return path.join(path.dirname(fs.realpathSync(npmBin)), 'npm-cli.js');
}

function packThisCheckout(work: string): string {
  // The prebuild of the addon this checkout built (build/Release), as `npm run prebuild` makes it.
  execFileSync(process.execPath, [path.join(root, 'scripts', 'prebuild.js'), '--no-compile'], { cwd: root });
  const name = execFileSync('npm', ['pack', '--pack-destination', work], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, npm_config_loglevel: 'warn' },
  })
    .trim()
    .split('\n')
    .pop()!;
  return path.join(work, name);
}

test(`the packed package installs with no compiler next to LibTorch ${loaded.libtorch} (${loaded.source}), uses its prebuild and trains a step`, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-pack-'));
  const tarball = process.env.UNMIX_PACKAGE_TARBALL
    ? path.resolve(process.env.UNMIX_PACKAGE_TARBALL)
    : packThisCheckout(work);

  const listing = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' });
  const platform = `${process.platform}-${process.arch}`;
  const shipped = [...listing.matchAll(new RegExp(`package/prebuilds/${platform}/([^/]+)/unmix\\.node`, 'g'))]
    .map((m) => m[1])
    .sort();
  const expected = (
    process.env.UNMIX_PACKAGE_PREBUILDS ?? prebuildTag({ version: loaded.libtorch, cuda: loaded.cudaBuild })
  )
    .split(',')
    .sort();
  expect(shipped).toEqual(expect.arrayContaining(expected));
  for (const file of [
    'dist/index.d.ts',
    'dist/cli/unmix.js',
    'README.md',
    'LICENSE',
    'docs/ARCHITECTURE.md',
    'examples/unmix_c10.ts',
    'scripts/install.js',
  ]) {
    expect(listing).toContain(`package/${file}`);
  }
  expect(listing).not.toMatch(/package\/build\//);
  expect(listing).not.toMatch(/package\/prebuilds\/.*\/libtorch($|\/)/m);

  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  const bin = noCompilerPath();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: bin,
    npm_config_loglevel: 'warn',
    npm_config_prefer_offline: 'true',
  };
  delete env.LIBTORCH;
  delete env.Torch_DIR;
  for (const tool of ['cc', 'c++', 'g++', 'cmake', 'make', 'ninja']) {
    expect(spawnSync(tool, ['--version'], { env }).error).toMatchObject({ code: 'ENOENT' });
  }

  const installed = spawnSync('npm', ['install', tarball, '--no-audit', '--no-fund', '--foreground-scripts'], {
    cwd: app,
    env,
    encoding: 'utf8',
  });
  const log = installed.stdout + installed.stderr;
  if (installed.status !== 0) throw new Error(`npm install failed (${installed.status}):\n${log}`);
  expect(log).toContain(
    `unmix: using the prebuilt addon prebuilds/${platform}/${prebuildTag({ version: loaded.libtorch, cuda: loaded.cudaBuild })}/unmix.node`,
  );
  expect(log).not.toMatch(/compiling the native addon/);
  const pkg = path.join(app, 'node_modules', 'unmix');
  expect(fs.existsSync(path.join(pkg, 'build', 'Release'))).toBe(false);

  const cli = execFileSync(path.join(app, 'node_modules', '.bin', 'unmix'), ['info', '--json'], {
    cwd: app,
    env,
    encoding: 'utf8',
  });
  const info = JSON.parse(cli);
  console.log(
    `no-compiler install of ${path.basename(tarball)} next to LibTorch ${loaded.libtorch}:\n${log.trim()}\n$ unmix info --json\n${cli.trim()}`,
  );
  expect(info).toMatchObject({
    libtorch: loaded.libtorch,
    source: loaded.source,
    addon: 'prebuilt',
    cudaBuild: loaded.cudaBuild,
    cudaVersion: loaded.cudaVersion,
    cxx11Abi: true,
    devices: loaded.devices,
  });
  for (const key of [
    'libtorch',
    'source',
    'cudaBuild',
    'cudaVersion',
    'cudnnVersion',
    'nccl',
    'devices',
    'cxx11Abi',
    'threads',
  ])
    expect(info).toHaveProperty(key);

  fs.copyFileSync(path.join(__dirname, 'support', 'one-step.js'), path.join(app, 'one-step.js'));
  const step = JSON.parse(execFileSync(process.execPath, ['one-step.js'], { cwd: app, env, encoding: 'utf8' }));
  expect(Number.isFinite(step.loss)).toBe(true);
  expect(step.moved).toBeGreaterThan(0);
  fs.rmSync(work, { recursive: true, force: true });
}, 600000);
