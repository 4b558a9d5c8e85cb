// One rank of MoCo's distributed step (test/moco-ranks.test.ts), the twin of
// test/fixtures/moco_ddp_twin.py: the same resnet18 MoCo in float64 loaded from the twin's initial
// state dict, the same images, the same shuffle permutation, one step of plain MoCo.
//   RANK=r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=p npx tsx test/support/moco-ddp-worker.ts INIT_FILE
import * as u from '../../lib';

const [DIM, K, M, T, N, SIZE] = [16, 32, 0.99, 0.07, 4, 16];
const PERM = Int32Array.from([5, 2, 7, 0, 3, 6, 1, 4]);

const images = (rank: number, view: number) =>
  u
    .arange(0, N * 3 * SIZE * SIZE, 1, { dtype: 'float64' })
    .mul(0.013 + 0.002 * view)
    .add(rank * 1.9 + view)
    .sin()
    .reshape([N, 3, SIZE, SIZE]);

async function main() {
  const group = await u.distributed.initProcessGroup({ timeoutMs: 60_000 });
  u.setNumThreads(1);
  const { rank, worldSize } = group;
  const moco = new u.MoCo({
    preset: 'imagenet-v1',
    arch: 'resnet18',
    dim: DIM,
    K,
    m: M,
    T,
    unmix: { enabled: false },
    rank,
    worldSize,
  }).to('float64');
  moco.loadReferenceStateDict(u.importTorchStateDict(process.argv[2]));
  moco.train();
  const { loss } = moco.stepWith([images(rank, 0), images(rank, 1)], { mix: null, shufflePerms: [PERM] });
  loss.backward();
  const flat = (t: u.Tensor) => Array.from(t.detach().reshape([-1]).data() as Float64Array);
  const params = Object.fromEntries(moco.namedParameters());
  const state = moco.stateDict();
  process.stdout.write(
    JSON.stringify({
      rank,
      loss: loss.item(),
      conv1Grad: flat(params['encoder_q.conv1.weight'].grad!),
      fcGrad: flat(params['encoder_q.fc.weight'].grad!),
      queue: flat(state['queue']),
      ptr: moco.queuePtr,
      keyBnMean: flat(state['encoder_k.bn1.running_mean']),
    }) + '\n',
  );
  u.distributed.destroyProcessGroup();
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
