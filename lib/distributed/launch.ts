// `unmix launch`: starts the ranks of one node with torchrun's environment (RANK, LOCAL_RANK,
// WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT), so a script runs the same
// under it and under `torchrun --no-python`. Each line of output is prefixed by its rank; one rank
// that fails ends the others; SIGINT and SIGTERM reach every rank.
import { ChildProcess, spawn } from 'child_process';
import * as readline from 'readline';
import * as is from '../validate';

export interface LaunchOptions {
  nprocPerNode: number;
  nnodes?: number;
  nodeRank?: number;
  masterAddr?: string;
  masterPort?: number;
  /** How long ranks get to exit after SIGTERM before SIGKILL. */
  graceMs?: number;
  /** Where prefixed lines go (tests). */
  write?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** The command that runs `script`: TypeScript through tsx, JavaScript through node, else itself. */
export function scriptCommand(script: string, args: string[]): [string, string[]] {
  if (/\.[cm]?ts$/.test(script)) return [process.execPath, ['--import', 'tsx', script, ...args]];
  if (/\.[cm]?js$/.test(script)) return [process.execPath, [script, ...args]];
  return [script, args];
}

/** The environment of local rank `localRank` (torchrun's variables). */
export function rankEnv(options: LaunchOptions, localRank: number): Record<string, string> {
  const nnodes = options.nnodes ?? 1;
  const nodeRank = options.nodeRank ?? 0;
  return {
    RANK: String(nodeRank * options.nprocPerNode + localRank),
    LOCAL_RANK: String(localRank),
    WORLD_SIZE: String(nnodes * options.nprocPerNode),
    LOCAL_WORLD_SIZE: String(options.nprocPerNode),
    GROUP_RANK: String(nodeRank),
    MASTER_ADDR: options.masterAddr ?? '127.0.0.1',
    MASTER_PORT: String(options.masterPort ?? 29500),
  };
}

/** Runs the ranks; resolves with the exit code the launcher should end with. */
export async function launch(script: string, args: string[], options: LaunchOptions): Promise<number> {
  const n = is.intInRange('unmix launch', '--nproc-per-node', options.nprocPerNode, 1, 1024);
  const nnodes = is.intInRange('unmix launch', '--nnodes', options.nnodes ?? 1, 1, 65536);
  is.intInRange('unmix launch', '--node-rank', options.nodeRank ?? 0, 0, nnodes - 1);
  is.intInRange('unmix launch', '--master-port', options.masterPort ?? 29500, 1, 65535);
  const write =
    options.write ?? ((line, stream) => (stream === 'stdout' ? process.stdout : process.stderr).write(line + '\n'));
  const [command, commandArgs] = scriptCommand(script, args);
  const ranks: ChildProcess[] = [];
  let failure: number | null = null;
  let signalled: NodeJS.Signals | null = null;

  const stopAll = (signal: NodeJS.Signals) => {
    for (const child of ranks) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    setTimeout(() => {
      for (const child of ranks) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, options.graceMs ?? 10000).unref();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    signalled = signal;
    stopAll(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const exits = Array.from({ length: n }, (_, local) => {
    const env = { ...process.env, ...rankEnv({ ...options, nnodes }, local) };
    const child = spawn(command, commandArgs, { env, stdio: ['inherit', 'pipe', 'pipe'] });
    ranks.push(child);
    const rank = env.RANK;
    for (const stream of ['stdout', 'stderr'] as const)
      readline.createInterface({ input: child[stream]! }).on('line', (line) => write(`[rank ${rank}] ${line}`, stream));
    return new Promise<void>((resolve) => {
      child.on('error', (e) => {
        write(`[rank ${rank}] unmix launch: could not start ${command}: ${e.message}`, 'stderr');
        failure ??= 127;
        stopAll('SIGTERM');
        resolve();
      });
      child.on('exit', (code, signal) => {
        if ((code !== 0 || signal) && failure === null && signalled === null) {
          failure = code ?? 128 + (signal === 'SIGKILL' ? 9 : 15);
          write(
            `unmix launch: rank ${rank} exited with ${signal ?? `code ${code}`}; stopping the other ranks`,
            'stderr',
          );
          stopAll('SIGTERM');
        }
        resolve();
      });
    });
  });
  await Promise.all(exits);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (signalled) return signalled === 'SIGINT' ? 130 : 143;
  return failure ?? 0;
}
