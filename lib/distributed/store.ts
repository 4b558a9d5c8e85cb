// c10d key-value stores: where ranks find each other (TCPStore, as torchrun's MASTER_ADDR:PORT) or
// a shared file (FileStore). Values are bytes; every wait has a timeout.
import { dist, StoreHandle } from './binding';

export interface TcpStoreOptions {
  host: string;
  /** 0 on the server binds a free port (read it back from `port`). */
  port: number;
  isServer: boolean;
  worldSize: number;
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000; // torch.distributed's default

export class Store {
  private constructor(
    /** @internal */ readonly handle: StoreHandle,
    readonly timeoutMs: number,
  ) {}

  /** A TCPStore: the server listens (it does not wait for the workers); a client retries until the timeout. */
  static async tcp(options: TcpStoreOptions): Promise<Store> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Store(
      await dist.storeTcp(options.host, options.port, options.isServer, options.worldSize, timeoutMs),
      timeoutMs,
    );
  }

  /** A FileStore on a path every rank can reach; it removes the file when the last rank is done. */
  static file(path: string, worldSize: number, timeoutMs = DEFAULT_TIMEOUT_MS): Store {
    return new Store(dist.storeFile(path, worldSize), timeoutMs);
  }

  /** This store with every key under `prefix/`. */
  withPrefix(prefix: string): Store {
    return new Store(dist.storePrefix(this.handle, prefix), this.timeoutMs);
  }

  /** A TCPStore's port (-1 for other stores). */
  get port(): number {
    return dist.storePort(this.handle);
  }

  set(key: string, value: string | Uint8Array): Promise<void> {
    return dist.storeSet(this.handle, key, typeof value === 'string' ? Buffer.from(value) : value);
  }

  /** The value of `key`, waiting for another rank to set it (rejects after `timeoutMs`). */
  get(key: string, timeoutMs = this.timeoutMs): Promise<Buffer> {
    return dist.storeGet(this.handle, key, timeoutMs);
  }

  /** Adds `delta` to the counter `key` (made at 0) and returns the new value. */
  add(key: string, delta: number): Promise<number> {
    return dist.storeAdd(this.handle, key, delta);
  }
}
