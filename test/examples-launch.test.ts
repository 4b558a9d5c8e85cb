// The training examples under `unmix launch --nproc-per-node 2` on the embedded synthetic data: each
// joins the group (examples/common.ts initFromLaunch), trains data-parallel, and rank 0 alone prints
// its results and writes the folder. MoCo's --batch-size is the batch over all ranks (main_moco.py),
// SwAV's --batch_size and BYOL's --batch-size a rank's (main_swav.py, solo-learn).
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as u from '../lib';
import { dist } from '../lib/distributed/binding';

const root = path.join(__dirname, '..');
const withGloo = dist.gloo ? test : test.skip;
const why = dist.gloo ? '' : ' (skipped: the addon was built without Gloo headers; apt-get install libgloo-dev)';

function launch(args: string[]): Promise<{ code: number | null; lines: string[] }> {
  const cli = path.join(root, 'lib', 'cli', 'unmix.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'launch', '--nproc-per-node', '2', ...args], {
    cwd: root,
    env: { ...process.env, GLOO_SOCKET_IFNAME: 'lo', UNMIX_NUM_THREADS: '1' },
  });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  return new Promise((resolve) =>
    child.on('close', (code) => resolve({ code, lines: out.split('\n').filter(Boolean) })),
  );
}

const tiny = ['--preset', 'smoke', '--epochs', '1', '--iters-per-epoch', '2', '--no-progress', '--device', 'cpu'];
const moco = ['--subset', '16', '--test-subset', '8', '--batch-size', '16', '--bn-splits', '2', '--moco-k', '64'];
// queue 24 at batch 8: 16 over 2 ranks (24 - 24 % 16), 24 in one process; the rebuilt run must know
const swav = ['--subset', '8', '--test-subset', '4', '--batch_size', '8', '--size_crops', '32,16', '--knn-k', '3'];
const queue = ['--queue_length', '24'];
const byol = ['--subset', '8', '--test-subset', '4', '--batch-size', '16', '--width', '4', '--proj-hidden-dim', '32'];

withGloo.each([
  // example, its flags, the loader batch of a rank
  ['unmix_c10.ts', [...moco, '--knn-k', '5'], 8],
  ['unmix_swav_imagenet.ts', [...swav, ...queue], 8],
  ['unmix_byol_c10.ts', [...byol, '--pred-hidden-dim', '32', '--warmup-epochs', '0', '--knn-k', '3'], 16],
] as [string, string[], number][])(
  `%s under unmix launch at 2 ranks: rank 0 prints the results and writes the folder${why}`,
  async (name, args, rankBatch) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unmix-launch-example-'));
    const r = await launch([path.join('examples', name), ...tiny, ...args, '--results-dir', dir]);
    expect({ code: r.code, tail: r.code === 0 ? [] : r.lines.slice(-5) }).toEqual({ code: 0, tail: [] });
    for (const line of r.lines) expect(line).toMatch(/^\[rank [01]\] /);
    const results = r.lines.filter((l) => / (done|epoch 1\/1): /.test(l));
    expect(results.map((l) => l.slice(0, 9))).toEqual(['[rank 0] ', '[rank 0] ']);
    expect(fs.readdirSync(dir)).toEqual(expect.arrayContaining(['log.jsonl', 'checkpoint.safetensors', 'args.json']));
    const epochs = fs
      .readFileSync(path.join(dir, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(epochs.at(-1).epoch).toBe(1);
    const { metadata } = u.loadCheckpoint(path.join(dir, 'checkpoint.safetensors'), {}, { restoreRng: false });
    expect(metadata).toMatchObject({ worldSize: 2, batchSize: rankBatch });
    // knn_eval's and linear_eval's rebuild, in one process, loads the weights strictly
    const { method } = u.rebuildTrained(dir, { device: 'cpu' });
    if (name.includes('swav')) expect((method as u.SwAV).queue!.shape[1]).toBe(16);
    method.dispose();
    if (name === 'unmix_c10.ts') {
      // an evaluation under the launcher is rank 0's alone: one result line, every rank exits 0
      const knn = ['--checkpoint', dir, '--subset', '16', '--test-subset', '8', '--knn-k', '5', '--device', 'cpu'];
      const e = await launch([path.join('examples', 'knn_eval.ts'), ...knn]);
      expect({ code: e.code, tail: e.code === 0 ? [] : e.lines.slice(-5) }).toEqual({ code: 0, tail: [] });
      expect(e.lines.filter((l) => l.includes('kNN (k 5')).map((l) => l.slice(0, 9))).toEqual(['[rank 0] ']);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  },
  180000,
);
