#!/usr/bin/env node
// The `unmix` command line: `unmix info [--json]`.
import { Command } from 'commander';
import { inspectFile } from '../io/inspect';
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

program
  .command('inspect')
  .description('list every tensor (name, shape, dtype) and the metadata of a checkpoint: safetensors, unmix checkpoint or torch.save file')
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
    for (const t of result.tensors) console.log(`  ${t.name.padEnd(width)}  ${t.dtype.padEnd(8)}  [${t.shape.join(', ')}]`);
    if (Object.keys(result.metadata).length) console.log(`metadata: ${JSON.stringify(result.metadata)}`);
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`unmix: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
