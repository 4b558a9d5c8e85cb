// The published package: `npm pack`, installed into an empty folder next to a matching prebuild,
// loads the prebuilt addon without compiling anything.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..');
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });

test('npm pack + install next to a matching prebuild loads without compiling', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-pack-'));
  // The prebuild of the addon this checkout built (build/Release), as `npm run prebuild` makes it.
  execFileSync(process.execPath, [path.join(root, 'scripts', 'prebuild.js'), '--no-compile'], { cwd: root });
  const tarball = npm(['pack', '--pack-destination', work], root).trim().split('\n').pop()!;
  const listing = execFileSync('tar', ['tzf', path.join(work, tarball)], { encoding: 'utf8' });
  expect(listing).toMatch(/package\/prebuilds\/linux-x64\/libtorch-[^/]+-(cpu|cuda)\/unmix\.node/);
  expect(listing).toContain('package/dist/index.d.ts');
  expect(listing).not.toMatch(/package\/build\//);

  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  const log = npm(['install', path.join(work, tarball), '--no-audit', '--no-fund', '--foreground-scripts'], app);
  expect(log).toMatch(/unmix: using the prebuilt addon prebuilds\/linux-x64\/libtorch-/);
  expect(log).not.toMatch(/compiling the native addon/);
  expect(fs.existsSync(path.join(app, 'node_modules', 'unmix', 'build', 'Release'))).toBe(false);

  const script = "const u = require('unmix'); console.log(JSON.stringify({ sum: u.tensor([1, 2, 3]).add(1).sum().item(), info: u.info() }))";
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: app, encoding: 'utf8' }));
  expect(out.sum).toBe(9);
  expect(out.info.source).toBe('prebuilt');
  const cli = JSON.parse(execFileSync(path.join(app, 'node_modules', '.bin', 'unmix'), ['info', '--json'], { cwd: app, encoding: 'utf8' }));
  expect(cli.source).toBe('prebuilt');
  fs.rmSync(work, { recursive: true, force: true });
}, 300000);
