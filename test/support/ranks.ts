// Starts the ranks of a test job on loopback, each a process with torchrun's environment.
import { spawn } from 'child_process';
import * as net from 'net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface RankResult {
  code: number | null;
  ms: number;
  lines: Record<string, unknown>[];
  stderr: string;
}

/** Runs `command args` as `ranks` of a world of `worldSize` (default: every rank); each prints JSON lines. */
export async function runRanks(
  command: string,
  args: string[],
  worldSize: number,
  env: Record<string, string> = {},
  ranks?: number[],
): Promise<RankResult[]> {
  const port = await freePort();
  const start = Date.now();
  return Promise.all(
    (ranks ?? [...Array(worldSize).keys()]).map(
      (rank) =>
        new Promise<RankResult>((resolve) => {
          const child = spawn(command, args, {
            env: {
              ...process.env,
              RANK: String(rank),
              LOCAL_RANK: String(rank),
              WORLD_SIZE: String(worldSize),
              MASTER_ADDR: '127.0.0.1',
              MASTER_PORT: String(port),
              ...env,
            },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (b) => (stdout += b));
          child.stderr.on('data', (b) => (stderr += b));
          child.on('close', (code) =>
            resolve({
              code,
              ms: Date.now() - start,
              stderr,
              lines: stdout
                .trim()
                .split('\n')
                .filter(Boolean)
                .map((l) => JSON.parse(l)),
            }),
          );
        }),
    ),
  );
}
