// Preloaded into hostile-suite children (test/hostile/helpers.ts): the peak RSS on exit.
process.on('exit', () => process.stderr.write(`\nMAXRSS_KB ${process.resourceUsage().maxRSS}\n`));
