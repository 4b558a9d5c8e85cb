// One rank of test/sync-batch-norm.test.ts: the converted net under DDP, a training-mode forward and
// backward on this rank's half of the batch; prints one JSON line of what it got.
import * as u from '../../lib';
import { syncBnBatch, syncBnNet } from './sync-bn-net';

const vals = (t: u.Tensor) => Array.from(t.data() as ArrayLike<number>, Number);

async function main() {
  const g = await u.distributed.initProcessGroup({ timeoutMs: 20000, interface: 'lo' });
  const net = u.distributed.SyncBatchNorm.convertSyncBatchnorm(syncBnNet());
  const ddp = await u.distributed.DistributedDataParallel.create(net);
  const { x, w } = syncBnBatch();
  const half = x.shape[0] / g.worldSize;
  const y = net.forward(x.narrow(0, g.rank * half, half));
  await ddp.backward(y.mul(w.narrow(0, g.rank * half, half)).sum());
  const out = {
    y: vals(y.detach()),
    grads: Object.fromEntries(net.namedParameters().map(([k, p]) => [k, vals(p.grad!)])),
    buffers: Object.fromEntries(net.namedBuffers().map(([k, b]) => [k, vals(b)])),
    norms: [...new Set(net.namedModules().map(([, m]) => m.constructor.name))].filter((n) => /Norm/.test(n)),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ fatal: String((e as Error).stack ?? e) }) + '\n');
  process.exitCode = 1;
});
