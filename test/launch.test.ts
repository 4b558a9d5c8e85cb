// `unmix launch`: torchrun's environment for each rank, output prefixed by rank, one failing rank
// ends the job with its code, and SIGTERM reaches every rank.
import { spawn } from 'child_process';
import * as path from 'path';
import * as u from '../lib';
import { dist } from '../lib/distributed/binding';

const root = path.join(__dirname, '..');
const SCRIPT = path.join(__dirname, 'support', 'launch-script.ts');

function run(args: string[], onLine?: (line: string, child: ReturnType<typeof spawn>) => void) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'lib', 'cli', 'unmix.ts'), 'launch', ...args],
    { cwd: root },
  );
  const lines: string[] = [];
  const start = Date.now();
  for (const stream of [child.stdout, child.stderr])
    stream.on('data', (b: Buffer) => {
      for (const line of b.toString().split('\n').filter(Boolean)) {
        lines.push(line);
        onLine?.(line, child);
      }
    });
  return new Promise<{ code: number | null; lines: string[]; ms: number }>((resolve) =>
    child.on('close', (code) => resolve({ code, lines, ms: Date.now() - start })),
  );
}

test("each rank gets torchrun's variables and its output is prefixed by its rank", async () => {
  const r = await run([
    '--nproc-per-node',
    '2',
    '--nnodes',
    '2',
    '--node-rank',
    '1',
    '--master-addr',
    'node0',
    '--master-port',
    '1234',
    SCRIPT,
    'env',
  ]);
  expect(r.code).toBe(0);
  for (const rank of [2, 3]) {
    const line = r.lines.find((l) => l.startsWith(`[rank ${rank}] {`))!;
    expect(JSON.parse(line.slice(`[rank ${rank}] `.length))).toEqual({
      RANK: String(rank),
      LOCAL_RANK: String(rank - 2),
      WORLD_SIZE: '4',
      LOCAL_WORLD_SIZE: '2',
      GROUP_RANK: '1',
      MASTER_ADDR: 'node0',
      MASTER_PORT: '1234',
    });
    expect(r.lines).toContain(`[rank ${rank}] to stderr`);
  }
});

test('bad launcher flags are refused before any rank starts', async () => {
  const r = await run(['--nproc-per-node', '0', SCRIPT, 'env']);
  expect(r.code).toBe(1);
  expect(r.lines.join('\n')).toMatch(/--nproc-per-node must be an integer in \[1, 1024\], got 0/);
  expect(r.lines.join('\n')).not.toMatch(/\[rank/);
});

(dist.gloo ? test : test.skip)(
  `one rank that fails ends the job with its exit code, long before the collective's timeout${dist.gloo ? '' : ' (skipped: no Gloo in this addon)'}`,
  async () => {
    const r = await run([
      '--nproc-per-node',
      '2',
      '--master-port',
      String(20000 + (process.pid % 20000)),
      SCRIPT,
      'fail',
    ]);
    expect(r.code).toBe(3);
    expect(r.lines.join('\n')).toMatch(/rank 1 exited with code 3; stopping the other ranks/);
    expect(r.lines.join('\n')).not.toMatch(/rank 0 finished/);
    expect(r.ms).toBeLessThan(60000);
  },
);

(dist.gloo ? test : test.skip)(
  `a rank killed (SIGKILL) in the middle of training ends the job non-zero, long before the collective's timeout${dist.gloo ? '' : ' (skipped: no Gloo in this addon)'}`,
  async () => {
    let killedAt = 0;
    const r = await run(['--nproc-per-node', '2', SCRIPT, 'train'], (line) => {
      const m = /step 3 pid (\d+) rank 1$/.exec(line);
      if (m && !killedAt) {
        killedAt = Date.now();
        process.kill(Number(m[1]), 'SIGKILL');
      }
    });
    expect(killedAt).toBeGreaterThan(0);
    expect(r.code).not.toBe(0);
    expect(r.lines.join('\n')).toMatch(/rank 1 .*SIGKILL|rank 1 exited/);
    const ms = Date.now() - killedAt;
    expect(ms).toBeLessThan(30000); // the group's timeout is 120 s
    console.log(`rank 1 killed at step 3: the launcher exited ${r.code} ${ms} ms later`);
  },
  60000,
);

test('SIGTERM to the launcher reaches every rank, and the launcher exits 143', async () => {
  let ready = 0;
  const r = await run(['--nproc-per-node', '2', SCRIPT, 'sigterm'], (line, child) => {
    if (line.endsWith('] ready') && ++ready === 2) child.kill('SIGTERM');
  });
  expect(r.code).toBe(143);
  expect(r.lines).toEqual(expect.arrayContaining(['[rank 0] stopping', '[rank 1] stopping']));
});

test('scriptCommand runs TypeScript through tsx, JavaScript through node, anything else as itself', () => {
  expect(u.distributed.scriptCommand('train.ts', ['--x'])).toEqual([
    process.execPath,
    ['--import', 'tsx', 'train.ts', '--x'],
  ]);
  expect(u.distributed.scriptCommand('train.js', [])).toEqual([process.execPath, ['train.js']]);
  expect(u.distributed.scriptCommand('/usr/bin/python3', ['t.py'])).toEqual(['/usr/bin/python3', ['t.py']]);
});
