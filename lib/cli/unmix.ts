#!/usr/bin/env node
// The `unmix` command line: `unmix info`, `unmix inspect FILE`, `unmix dataset PATH` (each with --json), `unmix download cifar10|cifar100`,
// `unmix plot RUN_DIR...`, `unmix notebook`.
import { Command } from 'commander';
import { datasetCommand } from './dataset';
import { downloadCommand } from './download';
import { inspectFile } from '../io/inspect';
import { notebookCommand } from './notebook';
import { plotCommand } from './plot';
import { info } from '../runtime';
import { launch } from '../distributed/launch';

const program = new Command();
program.enablePositionalOptions();
program.name('unmix').description('Un-Mix self-supervised learning on LibTorch');

program
  .command('info')
  .description(
    'which LibTorch is loaded and from where, how it was built (CUDA, cuDNN, NCCL, C++ ABI), the CUDA devices available, threads',
  )
  .option('--json', 'print one JSON object')
  .action((options: { json?: boolean }) => {
    const i = info();
    if (options.json) {
      console.log(JSON.stringify(i));
      return;
    }
    const from = i.source === 'python' ? `python: ${i.python}` : i.source;
    const built = i.cudaBuild
      ? `built with CUDA ${i.cudaVersion ?? '?'}, cuDNN ${i.cudnnVersion ?? 'none'}, NCCL ${i.nccl ?? 'none'}`
      : 'CPU-only build';
    const devices = i.devices > 0 ? `${i.devices} CUDA device(s) available` : 'no CUDA device available';
    console.log(`unmix: LibTorch ${i.libtorch} (${from}; ${i.libDir})`);
    console.log(`  ${built}; ${devices}`);
    console.log(`  addon ${i.addon}, ${i.cxx11Abi ? 'C++11 ABI' : 'pre-C++11 ABI'}, ${i.threads} threads`);
    const groups = [
      ...(i.distributed.gloo ? ['Gloo'] : []),
      ...(i.distributed.nccl ? [i.devices > 0 ? 'NCCL' : 'NCCL (needs a CUDA device: none here)'] : []),
    ];
    console.log(
      `  process groups: ${groups.length ? groups.join(', ') : 'none (built without Gloo headers: apt-get install libgloo-dev, then npm rebuild unmix)'}`,
    );
  });

program
  .command('inspect')
  .description(
    'list every tensor (name, shape, dtype) and the metadata of a checkpoint: safetensors, unmix checkpoint or torch.save file',
  )
  .argument('<file>')
  .option('--json', 'print one JSON object')
  .action((file: string, options: { json?: boolean }) => {
    const result = inspectFile(file);
    if (options.json) {
      console.log(JSON.stringify(result));
      return;
    }
    console.log(`${file}: ${result.format}, ${result.tensors.length} tensors`);
    const width = Math.max(4, ...result.tensors.map((t) => t.name.length));
    for (const t of result.tensors)
      console.log(`  ${t.name.padEnd(width)}  ${t.dtype.padEnd(8)}  [${t.shape.join(', ')}]`);
    if (Object.keys(result.metadata).length) console.log(`metadata: ${JSON.stringify(result.metadata)}`);
  });

program
  .command('dataset')
  .description(
    'describe a dataset (CIFAR binary folder/.tar.gz, image folder/.tar/.tar.gz): format, splits, image and class counts, image size, per-channel mean and std in [0, 1]',
  )
  .argument('<path>')
  .option('--json', 'print one JSON object')
  .option('--cache-dir <dir>', 'where decoded image folders are cached (default: $UNMIX_CACHE_DIR or ~/.cache/unmix)')
  .option('--no-cache', 'decode without reading or writing the cache')
  .option('--skip-corrupt', 'skip images that cannot be decoded (and list them) instead of failing')
  .action(
    async (source: string, options: { json?: boolean; cacheDir?: string; cache: boolean; skipCorrupt?: boolean }) => {
      await datasetCommand(source, options);
    },
  );

program
  .command('download')
  .description(
    'download CIFAR-10/100 (official binary archive): progress, resume, MD5 check; loadCifar reads the .tar.gz',
  )
  .argument('<dataset>', 'cifar10 or cifar100')
  .option('--dir <dir>', 'folder for the archive', 'data')
  .option('--url <url>', 'a mirror of the official archive (still checked against the official MD5)')
  .action(async (dataset: string, options: { dir: string; url?: string }) => {
    await downloadCommand(dataset, options);
  });

program
  .command('plot')
  .description(
    "overlay runs' curves (train loss, kNN top-1, learning rate per epoch) from their results folders' log.jsonl into one PNG",
  )
  .argument('<runDirs...>', 'results folders (or log.jsonl files)')
  .option('-o, --output <file>', 'the PNG to write', 'curves.png')
  .option('--title <title>', 'a title above the panels')
  .option('--scale <factor>', 'pixel scale (2 = sharper)', '2')
  .action(async (dirs: string[], options: { output: string; title?: string; scale: string }) => {
    await plotCommand(dirs, options);
  });

program
  .command('notebook')
  .description(
    "start Jupyter on the package's notebooks with a TypeScript kernel (tslab, installed on first use) registered for this user",
  )
  .option('--lab', 'JupyterLab instead of the classic notebook')
  .option('--port <port>', 'the port to serve on', (v) => Number(v))
  .option('--no-browser', 'do not open a browser')
  .option('--kernel-only', 'only register the kernel (unmix-tslab), e.g. for jupyter nbconvert --execute')
  .action((options: { lab?: boolean; port?: number; browser: boolean; kernelOnly?: boolean }) => {
    notebookCommand(options);
  });

program
  .command('launch')
  .description(
    "run SCRIPT as the ranks of a distributed job with torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR, ...); .ts through tsx, .js through node, else as a program",
  )
  .requiredOption('--nproc-per-node <n>', 'ranks on this node', (v) => Number(v))
  .option('--nnodes <m>', 'nodes in the job', (v) => Number(v), 1)
  .option('--node-rank <r>', "this node's index", (v) => Number(v), 0)
  .option('--master-addr <host>', "rank 0's host (it serves the TCPStore)", '127.0.0.1')
  .option('--master-port <port>', "the store's port", (v) => Number(v), 29500)
  .argument('<script>', 'the training script')
  .argument('[args...]', "the script's arguments")
  .passThroughOptions()
  .action(
    async (
      script: string,
      args: string[],
      options: { nprocPerNode: number; nnodes: number; nodeRank: number; masterAddr: string; masterPort: number },
    ) => {
      process.exitCode = await launch(script, args, options);
    },
  );

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`unmix: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
