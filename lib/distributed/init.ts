// The default process group, joined as torch.distributed.init_process_group(backend, 'env://')
// does: torchrun's (and `unmix launch`'s) environment names the rank, the world and the store.
import { Backend, ProcessGroup, requireNcclDevice } from './group';
import { dist } from './binding';
import { deviceCount } from '../cuda';
import { DEFAULT_TIMEOUT_MS, Store } from './store';
import * as is from '../validate';

export interface InitOptions {
  /**
   * 'nccl' (CUDA tensors) or 'gloo' (CPU tensors). The default, as torch recommends: 'nccl' where
   * the addon has NCCL and a CUDA device is available, else 'gloo' (defaultBackend()).
   */
  backend?: Backend;
  rank?: number;
  worldSize?: number;
  /** The store's host and port (MASTER_ADDR, MASTER_PORT). */
  masterAddr?: string;
  masterPort?: number;
  /** Every collective's and the rendezvous's limit; a dead peer is an error after at most this. */
  timeoutMs?: number;
  /** The network interface Gloo uses (GLOO_SOCKET_IFNAME). */
  interface?: string;
  /** A store made by the caller (then masterAddr/masterPort are not used). */
  store?: Store;
  env?: NodeJS.ProcessEnv;
}

/** What the launcher's environment says about this process (torchrun's contract). */
export interface LaunchEnv {
  rank: number;
  localRank: number;
  worldSize: number;
  localWorldSize: number;
  groupRank: number;
  masterAddr: string;
  masterPort: number;
  /** torchrun's agent already hosts the store: every rank connects as a client. */
  agentStore: boolean;
  restartCount: number;
}

function envInt(env: NodeJS.ProcessEnv, name: string, fallback?: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    if (fallback !== undefined) return fallback;
    throw new Error(
      `distributed: the environment variable ${name} is not set (start the script with \`npx unmix launch\` or torchrun, or pass it in the options)`,
    );
  }
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 0)
    throw new Error(`distributed: ${name} must be a non-negative integer, got '${raw}'`);
  return v;
}

/** The launcher's variables, or null when none is set (a plain single process). */
export function launchEnv(env: NodeJS.ProcessEnv = process.env): LaunchEnv | null {
  if (env.WORLD_SIZE === undefined && env.RANK === undefined) return null;
  const worldSize = envInt(env, 'WORLD_SIZE');
  const rank = envInt(env, 'RANK');
  if (rank >= worldSize) throw new Error(`distributed: RANK (${rank}) must be below WORLD_SIZE (${worldSize})`);
  return {
    rank,
    worldSize,
    localRank: envInt(env, 'LOCAL_RANK', rank),
    localWorldSize: envInt(env, 'LOCAL_WORLD_SIZE', worldSize),
    groupRank: envInt(env, 'GROUP_RANK', 0),
    masterAddr: env.MASTER_ADDR || '127.0.0.1',
    masterPort: envInt(env, 'MASTER_PORT', 29500),
    agentStore: env.TORCHELASTIC_USE_AGENT_STORE === 'True',
    restartCount: envInt(env, 'TORCHELASTIC_RESTART_COUNT', 0),
  };
}

let current: ProcessGroup | null = null;

/** The backend initProcessGroup picks without one: NCCL where it can run (the addon has it, a CUDA device is there), else Gloo. */
export function defaultBackend(): Backend {
  return dist.nccl && deviceCount() > 0 ? 'nccl' : 'gloo';
}

/** Joins the default group (once per process). */
export async function initProcessGroup(options: InitOptions = {}): Promise<ProcessGroup> {
  if (current) throw new Error('distributed.initProcessGroup: the default process group is already initialized');
  if (options.backend !== undefined)
    is.oneOf('distributed.initProcessGroup', 'backend', options.backend, ['gloo', 'nccl']);
  const backend = options.backend ?? defaultBackend();
  // before any store is made: a missing NCCL or GPU is said at once
  if (backend === 'nccl') requireNcclDevice('distributed.initProcessGroup');
  const env = options.env ?? process.env;
  const launch = launchEnv(env);
  const rank = options.rank ?? launch?.rank ?? 0;
  const worldSize = options.worldSize ?? launch?.worldSize ?? 1;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let store = options.store;
  if (!store) {
    const tcp = await Store.tcp({
      host: options.masterAddr ?? launch?.masterAddr ?? '127.0.0.1',
      port: options.masterPort ?? launch?.masterPort ?? 29500,
      isServer: rank === 0 && !launch?.agentStore,
      worldSize,
      timeoutMs,
    });
    // torch.distributed's env:// keys live under the restart attempt when torchrun hosts the store,
    // so a restarted group never reads the last attempt's keys.
    store = launch?.agentStore ? tcp.withPrefix(`/worker/attempt_${launch.restartCount}`) : tcp;
  }
  const groupStore = store.withPrefix('default_pg');
  current =
    backend === 'nccl'
      ? await ProcessGroup.nccl(groupStore, {
          rank,
          worldSize,
          timeoutMs,
          device: launch ? launch.localRank % deviceCount() : undefined,
        })
      : await ProcessGroup.gloo(groupStore, {
          rank,
          worldSize,
          timeoutMs,
          interface: options.interface ?? (env.GLOO_SOCKET_IFNAME || undefined),
        });
  return current;
}

export function isInitialized(): boolean {
  return current !== null;
}

/** The default group; throws before initProcessGroup. */
export function defaultGroup(): ProcessGroup {
  if (!current) throw new Error('distributed: call `await u.distributed.initProcessGroup()` first');
  return current;
}

/** This process's rank in the default group (0 without one). */
export function getRank(): number {
  return current?.rank ?? 0;
}

/** The default group's size (1 without one). */
export function getWorldSize(): number {
  return current?.worldSize ?? 1;
}

/** Forgets the default group (its connections close when it is collected). */
export function destroyProcessGroup(): void {
  current = null;
}
