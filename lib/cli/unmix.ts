#!/usr/bin/env node
// The `unmix` command line: `unmix info [--json]`.
import { Command } from 'commander';
import { info } from '../runtime';

const program = new Command();
program.name('unmix').description('Un-Mix self-supervised learning on LibTorch');

program
  .command('info')
  .description('which LibTorch is loaded, from where, CUDA, devices and threads')
  .option('--json', 'print one JSON object')
  .action((options: { json?: boolean }) => {
    const i = info();
    if (options.json) {
      const { libtorch, source, cuda, cudaVersion, devices, threads } = i;
      console.log(JSON.stringify({ libtorch, source, cuda, cudaVersion, devices, threads }));
    } else {
      const cuda = i.cuda ? `CUDA ${i.cudaVersion ?? '?'} with ${i.devices} device(s)` : 'CUDA not available';
      console.log(`unmix: LibTorch ${i.libtorch} (${i.source}, ${i.libDir}), ${cuda}, ${i.threads} threads`);
    }
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`unmix: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
