// A rank under `unmix launch` (test/launch.test.ts). MODE:
//   env       prints the torchrun variables it was given
//   fail      rank 1 exits with code 3 after joining; rank 0 waits in an allreduce (timeout 120 s)
//   sigterm   prints "ready", then on SIGTERM prints "stopping" and exits 0
//   train     DDP steps without end (timeout 120 s), each rank printing "step N pid P" (the test kills one)
import * as u from '../../lib';

const mode = process.argv[2];
const names = ['RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'LOCAL_WORLD_SIZE', 'GROUP_RANK', 'MASTER_ADDR', 'MASTER_PORT'];

async function main() {
  if (mode === 'env') {
    console.log(JSON.stringify(Object.fromEntries(names.map((n) => [n, process.env[n]]))));
    console.error('to stderr');
  } else if (mode === 'fail') {
    const g = await u.distributed.initProcessGroup({ timeoutMs: 120000, interface: 'lo' });
    if (g.rank === 1) process.exit(3);
    await g.allReduce(u.ones([2]));
    console.log('rank 0 finished its allreduce');
  } else if (mode === 'train') {
    const g = await u.distributed.initProcessGroup({ timeoutMs: 120000, interface: 'lo' });
    const net = new u.Sequential(new u.Linear(8, 16), new u.ReLU(), new u.Linear(16, 4));
    const ddp = await u.distributed.DistributedDataParallel.create(net);
    const opt = new u.SGD(net.parameters(), { lr: 0.01 });
    for (let step = 0; ; step++) {
      await u.scope(async () => {
        opt.zeroGrad();
        await ddp.backward(
          ddp
            .forward(u.randn([32, 8]))
            .square()
            .mean(),
        );
        opt.step();
      });
      console.log(`step ${step} pid ${process.pid} rank ${g.rank}`);
    }
  } else if (mode === 'sigterm') {
    process.on('SIGTERM', () => {
      console.log('stopping');
      process.exit(0);
    });
    console.log('ready');
    setInterval(() => {}, 1000);
  }
}
main();
