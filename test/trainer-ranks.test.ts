// The Trainer under 2 Gloo ranks: DDP keeps the weights identical, each rank trains on its shard,
// only rank 0 writes the results folder and shows progress, and a resume from rank 0's checkpoint
// on both ranks ends where the straight run does; a stop asked of one rank stops both at the same step,
// and a start rank 0 refuses fails rank 1 too, instead of leaving either waiting in a collective.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { dist } from '../lib/distributed/binding';
import { Trainer } from '../lib/train/trainer';
import { runRanks } from './support/ranks';
import { toySetup } from './support/toy-setup';

const withGloo = dist.gloo ? test : test.skip;
const why = dist.gloo ? '' : ' (skipped: the addon was built without Gloo headers; apt-get install libgloo-dev)';

interface Run {
  weights: Record<string, number[]>;
  history: { epoch: number; train_loss: number }[];
  interrupted: boolean;
  stoppedBy: string | null;
  lines: string[];
  shard: { rank: number; worldSize: number };
  steps: number;
}
interface Seen {
  rank: number;
  straight: Run;
  resumed: Run;
  stopped: Run;
  afterStop: Run;
  taken: string;
  unsharded: string;
  fatal?: string;
}

withGloo(
  `2 ranks: identical weights, rank 0 alone writes and shows progress, resume as the straight run, one rank stopped stops both, a refused start fails both${why}`,
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-ranks-'));
    const results = await runRanks(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, 'support', 'trainer-rank.ts'), dir],
      2,
      { UNMIX_NUM_THREADS: '1' },
    );
    const [s0, s1] = results.map((r) => r.lines[0] as unknown as Seen);
    for (const [i, r] of results.entries())
      expect({ rank: i, code: r.code, fatal: r.lines[0]?.fatal }).toEqual({ rank: i, code: 0, fatal: undefined });

    // each rank trained 3 steps per epoch on its half (48 images, batch 8)
    expect(s0.straight.shard).toEqual({ rank: 0, worldSize: 2 });
    expect(s1.straight.shard).toEqual({ rank: 1, worldSize: 2 });
    expect(s0.straight.steps).toBe(6);
    expect(s1.straight.steps).toBe(6);
    // DDP: rank 1's changed initialisation replaced by rank 0's, gradients averaged: the same weights
    expect(s1.straight.weights).toEqual(s0.straight.weights);
    expect(s0.straight.history).toEqual(s1.straight.history);
    expect(s0.straight.history.map((r) => r.epoch)).toEqual([1, 2]);

    // rank 0 wrote its folder; rank 1 did not even make its own
    const files0 = fs.readdirSync(path.join(dir, 'straight-0')).sort();
    expect(files0).toEqual(['args.json', 'checkpoint.safetensors', 'curves.png', 'log.csv', 'log.jsonl']);
    expect(fs.existsSync(path.join(dir, 'straight-1'))).toBe(false);
    const csv = fs
      .readFileSync(path.join(dir, 'straight-0', 'log.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(csv.slice(1).map((l) => Number(l.split(',')[1]))).toEqual(s0.straight.history.map((r) => r.train_loss));
    expect(s0.straight.lines.some((l) => l.startsWith('epoch 2/2: loss'))).toBe(true);
    expect(s1.straight.lines).toEqual([]);
    // progress lines (progress: true on a pipe) on rank 0's stderr only
    expect(results[0].stderr).toMatch(/epoch 1\/2/);
    expect(results[1].stderr).toBe('');

    // 1 epoch, then resumed to 2 in a shared folder: both ranks read rank 0's checkpoint
    expect(s0.resumed.steps).toBe(3);
    expect(s1.resumed.steps).toBe(3);
    expect(s0.resumed.lines[0]).toMatch(/^resumed from .*checkpoint\.safetensors: epoch 2, batch 0 of 3/);
    expect(s0.resumed.weights).toEqual(s0.straight.weights);
    expect(s1.resumed.weights).toEqual(s0.straight.weights);
    expect(s0.resumed.history).toEqual(s0.straight.history);

    // rank 1's signal during iteration 4 stops both ranks after it (epoch 2, batch 2), and the resume
    // from rank 0's checkpoint there ends as the straight run
    expect([s0.stopped.interrupted, s1.stopped.interrupted]).toEqual([true, true]);
    expect([s0.stopped.stoppedBy, s1.stopped.stoppedBy]).toEqual(['stop', 'signal']);
    expect([s0.stopped.steps, s1.stopped.steps]).toEqual([5, 5]);
    expect(s0.stopped.lines.at(-1)).toMatch(/saved .* at epoch 2, batch 2; continue with resume$/);
    expect([s0.afterStop.steps, s1.afterStop.steps]).toEqual([1, 1]);
    expect(s0.afterStop.weights).toEqual(s0.straight.weights);
    expect(s1.afterStop.weights).toEqual(s0.straight.weights);

    expect(s0.taken).toMatch(/shared already holds a run .*--resume.*--overwrite/);
    expect(s1.taken).toBe('Trainer (rank 1 of 2): rank 0 could not start the run (its error says why)');

    expect(s0.unsharded).toMatch(
      /^Trainer: under 2 ranks the loader must serve this rank's shard \(shard: \{rank: 0, worldSize: 2\}.*got an unsharded loader$/,
    );
    fs.rmSync(dir, { recursive: true, force: true });
  },
  60000,
);

test('group: a ProcessGroup or false; false (or one process) trains alone and writes as before', () => {
  const base = { ...toySetup(), lr: () => 0.05, epochs: 1, resultsDir: path.join(os.tmpdir(), 'unmix-never') };
  expect(() => new Trainer({ ...base, group: 'gloo' as never })).toThrow(
    "Trainer: group must be a ProcessGroup or false, got 'gloo'",
  );
  expect(new Trainer({ ...base, group: false }).worldSize).toBe(1);
  expect(new Trainer(base).worldSize).toBe(1);
});
