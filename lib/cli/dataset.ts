// The display of `unmix dataset`: a progress bar while splits decode, then the description as text
// (formatDescription) or JSON; describeDataset (data/describe.ts) only returns data.
import { SingleBar } from 'cli-progress';
import { describeDataset, DatasetDescription, DescribeDetails } from '../data/describe';

/** `unmix dataset PATH [--json] [--cache-dir D] [--no-cache] [--skip-corrupt]`. */
export async function datasetCommand(
  source: string,
  options: { json?: boolean; cacheDir?: string; cache: boolean; skipCorrupt?: boolean },
): Promise<void> {
  // A bar on a terminal only: piped output stays clean.
  const bar = process.stderr.isTTY
    ? new SingleBar({
        format: 'decoding {split} [{bar}] {value}/{total} images, {eta}s left',
        stream: process.stderr,
        hideCursor: true,
      })
    : undefined;
  let current: string | undefined;
  const onProgress =
    bar &&
    ((split: string, done: number, total: number) => {
      if (split !== current) {
        if (current !== undefined) bar.stop();
        current = split;
        bar.start(total, 0, { split });
      }
      bar.update(done, { split });
    });
  let result;
  try {
    result = await describeDataset(source, {
      cacheDir: options.cache ? options.cacheDir : false,
      skipCorrupt: options.skipCorrupt,
      onProgress,
    });
  } finally {
    if (current !== undefined) bar?.stop();
  }
  if (!options.json) {
    console.log(formatDescription(result));
    return;
  }
  console.log(JSON.stringify(result.description));
  for (const w of result.details.warnings) console.error(`unmix: warning: ${w}`);
  if (result.details.skipped.length)
    console.error(`unmix: skipped ${result.details.skipped.length} images that could not be decoded`);
}

/** A short summary for people. */
export function formatDescription({
  description: d,
  details,
}: {
  description: DatasetDescription;
  details: DescribeDetails;
}): string {
  const f = (v: number[]) => `[${v.map((x) => x.toFixed(4)).join(', ')}]`;
  const size = d.size
    ? `${d.size[0]}×${d.size[1]}`
    : `sizes from ${details.minSize.join('×')} to ${details.maxSize.join('×')} (h×w)`;
  const lines = [`${details.source}: ${d.format} (${details.container}), ${d.classes.length} classes, ${size}`];
  const width = Math.max(...Object.keys(d.splits).map((k) => k.length));
  for (const [name, s] of Object.entries(d.splits)) {
    const cache = details.cache[name] ? `  cache: ${details.cache[name]}` : '';
    lines.push(
      `  ${name.padEnd(width)}  ${String(s.images).padStart(8)} images  ${s.classes} classes  mean ${f(s.mean)}  std ${f(s.std)}${cache}`,
    );
  }
  const shown = d.classes.slice(0, 20).join(', ');
  lines.push(`  classes: ${shown}${d.classes.length > 20 ? `, ... (${d.classes.length - 20} more)` : ''}`);
  if (details.ignored.length)
    lines.push(
      `  ignored: ${details.ignored.length} files that are not .jpg/.jpeg/.png images in class folders (e.g. ${details.ignored.slice(0, 3).join(', ')})`,
    );
  if (details.skipped.length)
    lines.push(
      `  skipped: ${details.skipped.length} images that could not be decoded: ${details.skipped
        .slice(0, 3)
        .map((s) => s.error)
        .join('; ')}`,
    );
  for (const w of details.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}
