// SwAV at 2 Gloo ranks as main_swav.py runs it: sync_bn "pytorch" (the default) makes every BatchNorm
// a SyncBatchNorm, so both ranks' statistics are those of both batches; "none" keeps each rank's own.
// (Its Sinkhorn over the ranks: test/sinkhorn-ranks.test.ts.)
import * as path from 'path';
import { dist } from '../lib/distributed/binding';
import { runRanks } from './support/ranks';

const withGloo = dist.gloo ? test : test.skip;
const why = dist.gloo ? '' : ' (skipped: the addon was built without Gloo headers; apt-get install libgloo-dev)';

interface Seen {
  norms: string[];
  loss: number;
  bnMean: number[];
}
const run = async (syncBn: string): Promise<Seen[]> => {
  const worker = path.join(__dirname, 'support', 'swav-rank.ts');
  const results = await runRanks(process.execPath, ['--import', 'tsx', worker], 2, { SYNC_BN: syncBn });
  for (const r of results) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return results.map((r) => r.lines[0] as unknown as Seen);
};

withGloo(
  `SwAV under 2 ranks: SyncBatchNorm by default (one set of statistics), each rank's own with --sync_bn none${why}`,
  async () => {
    const [s0, s1] = await run('pytorch');
    expect(s0.norms).toEqual(['SyncBatchNorm']);
    expect(s0.loss).not.toBe(s1.loss); // different images on each rank
    expect(s1.bnMean).toEqual(s0.bnMean);
    expect(s0.bnMean.some((v) => v !== 0)).toBe(true);
    const [p0, p1] = await run('none');
    expect(p0.norms.sort()).toEqual(['BatchNorm1d', 'BatchNorm2d']);
    expect(p1.bnMean).not.toEqual(p0.bnMean);
  },
  60000,
);
