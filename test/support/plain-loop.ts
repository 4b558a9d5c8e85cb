// A PyTorch-style training loop with no scopes and no dispose, run in its own process so that RSS
// reflects only this loop: a width-8 ResNet-18, SimCLR's NT-Xent on two views, SGD. Everything the
// loop makes is left to the garbage collector. Prints one JSON line: live tensors, RSS and V8's
// external memory after each epoch. argv: epochs, images per class, batch size; or `sync`: 4,000
// forgotten 256 KiB tensors in one synchronous run, printing the peak live count above the start.
import * as u from '../../lib';

const epochs = Number(process.argv[2] === 'sync' ? 0 : (process.argv[2] ?? 40));
const perClass = Number(process.argv[3] ?? 13);
const batchSize = Number(process.argv[4] ?? 32);

async function main(): Promise<void> {
  u.manualSeed(0);
  const data = u.syntheticDataset({ split: 'train', perClass, size: 32 });
  const loader = new u.Loader(data, { batchSize, views: u.presets.simclr({ size: 32 }), seed: 0 });
  const net = u.resnet18({ stem: 'cifar', width: 8 });
  const opt = new u.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const rows: { epoch: number; live: number; rssMb: number; externalMb: number; gcMb: number; loss: number }[] = [];
  for (let e = 0; e < epochs; e++) {
    let last = NaN;
    for await (const b of loader.epoch(e)) {
      const loss = u.ntXent(net.forward(b.views[0]), net.forward(b.views[1]), 0.2);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      last = loss.item();
    }
    const live = u.liveTensors();
    const m = process.memoryUsage();
    rows.push({
      epoch: e + 1,
      live: live.count,
      rssMb: m.rss / 2 ** 20,
      externalMb: m.external / 2 ** 20,
      gcMb: live.gcBytes / 2 ** 20,
      loss: last,
    });
    if (process.env.PLAIN_LOOP_VERBOSE) console.error(JSON.stringify(rows[rows.length - 1]));
  }
  console.log(JSON.stringify({ rows }));
}

function syncLoop(): void {
  const before = u.liveTensors().count;
  let peak = 0;
  let made = 0;
  for (; made < 4000 && peak < 1000; made++) {
    u.ones([64, 1024]);
    peak = Math.max(peak, u.liveTensors().count - before);
  }
  console.log(JSON.stringify({ peak, made }));
}

(process.argv[2] === 'sync' ? Promise.resolve().then(syncLoop) : main()).catch((e) => {
  console.error(e);
  process.exit(1);
});
