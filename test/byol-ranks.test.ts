// BYOL + Un-Mix under 2 Gloo ranks as solo-learn runs it: DDP (the Trainer) and every BatchNorm a
// SyncBatchNorm (lib/train/solo.ts). With DDP's buffer broadcast off, equal BN statistics on both
// ranks come only from SyncBatchNorm; without it (the control) they part.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { dist } from '../lib/distributed/binding';
import { runRanks } from './support/ranks';

const withGloo = dist.gloo ? test : test.skip;
const why = dist.gloo ? '' : ' (skipped: the addon was built without Gloo headers; apt-get install libgloo-dev)';

interface Seen {
  epochs: number;
  norms: string[];
  state: Record<string, number[]>;
  fatal?: string;
}

const train = async (dir: string, syncBn: boolean): Promise<Seen[]> => {
  const worker = path.join(__dirname, 'support', 'byol-rank.ts');
  const env = { UNMIX_NUM_THREADS: '1', SYNC_BN: syncBn ? '1' : '0' };
  const results = await runRanks(process.execPath, ['--import', 'tsx', worker, dir], 2, env);
  const seen = results.map((r) => r.lines[0] as unknown as Seen);
  for (const [i, r] of results.entries()) expect({ i, code: r.code, fatal: seen[i]?.fatal }).toEqual({ i, code: 0 });
  return seen;
};

withGloo(
  `BYOL at 2 ranks: SyncBatchNorm everywhere, target included; weights and BN statistics identical${why}`,
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-byol-ranks-'));
    const [s0, s1] = await train(dir, true);
    expect(s0.epochs).toBe(2); // 2 steps each
    // 20 per backbone (stem, 8 blocks × 2, 3 downsamples), one per head: online and target
    expect(s0.norms.length).toBe(2 * 20 + 3);
    for (const n of s0.norms) expect(n).toMatch(/:SyncBatchNorm$/);
    expect(s0.norms).toContain('momentum_projector.1:SyncBatchNorm');
    expect(Object.keys(s0.state).length).toBeGreaterThan(0);
    expect(s1.state).toEqual(s0.state);
    // the statistics moved from their start (so they were computed, and equal because shared)
    expect(s0.state['backbone.bn1.running_mean'].some((v) => v !== 0)).toBe(true);

    // the control: plain BatchNorm, the same weights (DDP) but each rank's own statistics
    const [p0, p1] = await train(dir, false);
    expect(p0.norms.every((n) => n.endsWith(':BatchNorm2d') || n.endsWith(':BatchNorm1d'))).toBe(true);
    expect(p1.state['backbone.conv1.weight']).toEqual(p0.state['backbone.conv1.weight']);
    expect(p1.state['backbone.bn1.running_mean']).not.toEqual(p0.state['backbone.bn1.running_mean']);
    fs.rmSync(dir, { recursive: true, force: true });
  },
  90000,
);
