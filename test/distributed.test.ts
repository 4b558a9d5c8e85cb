// c10d through u.distributed: two ranks on loopback, each a process started the way torchrun
// starts one (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), with short timeouts.
import * as path from 'path';
import * as u from '../lib';
import { dist } from '../lib/distributed/binding';
import { gradInputs } from './support/grad-inputs';
import { runRanks } from './support/ranks';

const WORKER = path.join(__dirname, 'support', 'dist-worker.ts');
const withGloo = dist.gloo ? test : test.skip;
const why = dist.gloo
  ? ''
  : ' (skipped: the addon was built without Gloo headers; apt-get install libgloo-dev and rebuild)';

const launch = (scenario: string, worldSize: number, env: Record<string, string> = {}, ranks?: number[]) =>
  runRanks(process.execPath, ['--import', 'tsx', WORKER, scenario], worldSize, env, ranks);

withGloo(
  `collectives over 2 Gloo ranks equal their closed forms, and bad arguments are clear errors${why}`,
  async () => {
    const results = await launch('collectives', 2);
    for (const r of results) expect(r.stderr).not.toMatch(/Error|abort/i);
    const seen = results.map((r) => r.lines[0]);
    for (const [rank, s] of seen.entries()) {
      expect(s).toMatchObject({ rank, worldSize: 2, getRank: rank, getWorldSize: 2 });
      expect(s.sum).toEqual([1 + 2, 10 + 20, -1]);
      expect(s.avg).toEqual([1.5, 3]);
      expect(s.max).toEqual([1, 0]);
      expect(s.broadcast).toEqual([1.5, 2.5]);
      expect(s.allGather).toEqual([
        [0, 100],
        [1, 101],
      ]);
      expect(s.allGatherCat).toEqual([0, 0, 1, 1]);
      // sum over r of (arange(4) + r) = [1, 3, 5, 7]; rank 0 keeps [1, 3], rank 1 [5, 7]
      expect(s.reduceScatter).toEqual(rank === 0 ? [1, 3] : [5, 7]);
      const errors = s.errors as string[];
      expect(errors[0]).toMatch(/allReduce: tensor must be contiguous/);
      expect(errors[1]).toMatch(/allGather: outputs must be an array of 2 tensors, got 1/);
      expect(errors[2]).toMatch(/op must be one of sum, avg, product, min, max, got mean/);
      expect(errors[3]).toMatch(/src must be an integer in \[0, 1\], got 5/);
    }
  },
);

withGloo(`a rank that dies makes its peer's collective fail within the timeout, not hang${why}`, async () => {
  const timeoutMs = 4000;
  const [r0, r1] = await launch('dead-peer', 2, { UNMIX_TEST_TIMEOUT_MS: String(timeoutMs) });
  expect(r1.code).toBe(0);
  expect(r0.code).toBe(0);
  const seen = r0.lines[0] as { error: string; ms: number };
  expect(seen.error).toMatch(/ProcessGroup\.allReduce \(rank 0 of 2, timeout 4000 ms\)/);
  expect(seen.ms).toBeLessThan(timeoutMs + 2000);
});

withGloo(`a rank whose peers never come rejects initProcessGroup after the timeout${why}`, async () => {
  const timeoutMs = 2500;
  const [r0] = await launch('collectives', 2, { UNMIX_TEST_TIMEOUT_MS: String(timeoutMs) }, [0]);
  const seen = r0.lines[0] as { initError: string; ms: number };
  expect(r0.code).toBe(0);
  expect(seen.initError).toMatch(
    /ProcessGroup\.gloo \(rank 0 of 2, timeout 2500 ms\): the ranks did not all join: .*timeout/i,
  );
  expect(seen.ms).toBeGreaterThanOrEqual(timeoutMs - 100);
  expect(seen.ms).toBeLessThan(timeoutMs + 5000);
});

test('launchEnv reads the torchrun contract and refuses what does not make sense', () => {
  expect(u.distributed.launchEnv({})).toBeNull();
  expect(
    u.distributed.launchEnv({
      RANK: '3',
      LOCAL_RANK: '1',
      WORLD_SIZE: '4',
      LOCAL_WORLD_SIZE: '2',
      GROUP_RANK: '1',
      MASTER_ADDR: 'node0',
      MASTER_PORT: '1234',
      TORCHELASTIC_USE_AGENT_STORE: 'True',
      TORCHELASTIC_RESTART_COUNT: '2',
    }),
  ).toEqual({
    rank: 3,
    localRank: 1,
    worldSize: 4,
    localWorldSize: 2,
    groupRank: 1,
    masterAddr: 'node0',
    masterPort: 1234,
    agentStore: true,
    restartCount: 2,
  });
  expect(() => u.distributed.launchEnv({ RANK: '0' })).toThrow(/WORLD_SIZE is not set/);
  expect(() => u.distributed.launchEnv({ RANK: '2', WORLD_SIZE: '2' })).toThrow(
    /RANK \(2\) must be below WORLD_SIZE \(2\)/,
  );
  expect(() => u.distributed.launchEnv({ RANK: 'x', WORLD_SIZE: '2' })).toThrow(
    /RANK must be a non-negative integer, got 'x'/,
  );
  expect(u.distributed.getRank()).toBe(0);
  expect(u.distributed.getWorldSize()).toBe(1);
  expect(() => u.distributed.defaultGroup()).toThrow(/initProcessGroup\(\)` first/);
});

withGloo(
  `allGatherWithGrad and SyncBatchNorm over 2 ranks: values and gradients as one process over the concatenated batch${why}`,
  async () => {
    const results = await launch('with-grad', 2);
    const seen = results.map((r) => r.lines[0] as Record<string, number[]>);
    for (const r of results) expect(r.code).toBe(0);
    const close = (a: number[], b: number[]) => {
      expect(a.length).toBe(b.length);
      const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
      expect(worst).toBeLessThan(1e-12);
    };
    const vals = (t: u.Tensor) => Array.from(t.data() as Float64Array);
    const inputs = [gradInputs(0), gradInputs(1)];
    // gather: rows [f0; f1], loss = sum(rows * (i + 1)): each rank's grad is its rows' coefficients, from both ranks' losses (×2)
    expect(seen[0].gathered).toEqual([...vals(inputs[0].f), ...vals(inputs[1].f)]);
    expect(seen[0].fGrad).toEqual([2, 2, 2, 4, 4, 4]);
    expect(seen[1].fGrad).toEqual([6, 6, 6, 8, 8, 8]);
    // BatchNorm2d over the concatenated batch, in this process
    const x = u.cat([inputs[0].x, inputs[1].x]).requiresGrad_(true);
    const bn = new u.BatchNorm2d(4).to('float64');
    u.noGrad(() => {
      bn.weight!.copy_(u.tensor([0.5, 1.5, -1, 2], { dtype: 'float64' }));
      bn.bias!.copy_(u.tensor([0.1, 0.2, 0.3, 0.4], { dtype: 'float64' }));
    });
    const y = bn.forward(x);
    y.mul(u.cat([inputs[0].w, inputs[1].w]))
      .sum()
      .backward();
    const half = y.numel() / 2;
    for (const r of [0, 1]) {
      close(seen[r].y, vals(y.detach()).slice(r * half, (r + 1) * half));
      close(seen[r].xGrad, vals(x.grad!).slice(r * half, (r + 1) * half));
      close(seen[r].runningMean, vals(bn.runningMean!));
      close(seen[r].runningVar, vals(bn.runningVar!));
    }
    // a parameter's gradient is each rank's part; DDP's average ×2 gives the whole batch's
    close(
      seen[0].weightGrad.map((v, i) => v + seen[1].weightGrad[i]),
      vals(bn.weight!.grad!),
    );
    close(
      seen[0].biasGrad.map((v, i) => v + seen[1].biasGrad[i]),
      vals(bn.bias!.grad!),
    );
  },
);
