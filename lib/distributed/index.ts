// u.distributed: c10d process groups from TypeScript (torch.distributed's names, camelCase).
export { Store, DEFAULT_TIMEOUT_MS } from './store';
export type { TcpStoreOptions } from './store';
export { ProcessGroup } from './group';
export type { Backend, GlooOptions, NcclOptions, ReduceOp } from './group';
export {
  initProcessGroup,
  isInitialized,
  defaultGroup,
  getRank,
  getWorldSize,
  destroyProcessGroup,
  launchEnv,
  defaultBackend,
} from './init';
export type { InitOptions, LaunchEnv } from './init';
export { launch, rankEnv, scriptCommand } from './launch';
export type { LaunchOptions } from './launch';
export { DistributedDataParallel } from './ddp';
export type { DdpOptions } from './ddp';
export { SyncBatchNorm } from './sync-batch-norm';
export { activeGroup, allReduceNow } from './blocking';
