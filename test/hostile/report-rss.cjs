// Preloaded into hostile-suite children (test/hostile/helpers.ts): the peak RSS on exit. VmHWM
// (this process's memory since exec), not getrusage's maxRSS, which Linux carries over from the
// parent that forked us (a jest worker of several GB).
const fs = require('fs');
process.on('exit', () => {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  process.stderr.write(`\nMAXRSS_KB ${hwm ? hwm[1] : process.resourceUsage().maxRSS}\n`);
});
