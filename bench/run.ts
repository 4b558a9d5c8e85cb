// The benchmark runner: unmix against Python PyTorch, case by case, in one command.
//   npm run bench -- CASE [--json] [--quick] [--device cpu|cuda] [case options]
//   npm run bench -- all [--json] [--device cuda] [--out FILE]     every case, then BENCHMARKS.md
// Cases live in bench/cases/, their Python twins in bench/*.py; bench/README.md says what each times.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import * as path from 'path';
import * as u from '../lib';
import { CASES } from './cases';
import { unmixMocoStep } from './cases/unmix-moco-step';
import { BenchCase, CaseResult, CommonOptions, intArg } from './cases/harness';
import { Failure, fmt, machineInfo, renderSection, sectionKey, writeSection } from './cases/report';

const COMMON_KEYS = ['device', 'json', 'quick', 'warmup', 'repeats', 'threads', 'out'];

function parseDevice(value: string): u.Device {
  if (!/^(cpu|cuda(:\d+)?)$/.test(value))
    throw new InvalidArgumentError(`expected cpu, cuda or cuda:N, got '${value}'`);
  return value as u.Device;
}

function addCommon(cmd: Command): Command {
  return cmd
    .addOption(new Option('--device <device>', 'cpu, cuda or cuda:N').default('cpu').argParser(parseDevice))
    .option('--json', 'print one JSON object instead of a table')
    .option('--quick', 'tiny sizes: checks that it runs; the figures mean nothing')
    .option('--warmup <n>', "untimed runs of each side first (default: the case's)", intArg(0))
    .option('--repeats <n>', "timed runs of each side, alternating (default: the case's)", intArg(1))
    .option('--threads <n>', "intra-op threads of both sides (default: this machine's cores)", intArg(1));
}

type Opts = Record<string, unknown>;

function commonOptions(opts: Opts): CommonOptions {
  const device = opts.device as u.Device;
  if (device !== 'cpu' && !u.cuda.isAvailable()) {
    throw new Error(
      `--device ${device}: CUDA is not available in the loaded LibTorch (${u.info().libtorch}, ${u.info().source})`,
    );
  }
  if (opts.threads !== undefined) u.setNumThreads(opts.threads as number);
  return {
    device,
    quick: !!opts.quick,
    warmup: opts.warmup as number | undefined,
    repeats: opts.repeats as number | undefined,
    threads: u.getNumThreads(),
  };
}

/** The case's defaults, overridden by what the command line gave. */
async function runCase(c: BenchCase<Opts>, common: CommonOptions, given: Opts): Promise<CaseResult> {
  const o = { ...c.defaults(common.quick, common.device) };
  for (const [k, v] of Object.entries(given)) if (v !== undefined && !COMMON_KEYS.includes(k)) (o as Opts)[k] = v;
  if (common.warmup !== undefined) o.warmup = common.warmup;
  if (common.repeats !== undefined) o.repeats = common.repeats;
  process.stderr.write(
    `bench: ${c.name}: ${o.warmup} warm-up + ${o.repeats} timed runs of each side on ${common.device}${common.quick ? ' (--quick)' : ''}\n`,
  );
  return c.run(common, o);
}

function printResult(r: CaseResult): void {
  const py = r.python;
  const n = u.getNumThreads();
  console.log(
    `${r.case} (${r.device}, ${n} thread${n === 1 ? '' : 's'}; LibTorch ${u.info().libtorch} vs PyTorch ${String(py.torch)}): ${r.unit}`,
  );
  console.log(
    `  unmix ${fmt(r.ts_ms)} ms   PyTorch ${fmt(r.py_ms)} ms   speedup ${fmt(r.speedup)}   (medians of ${r.repeats}, after ${r.warmup} warm-up)`,
  );
  if (Array.isArray(r.rows))
    console.table(
      (r.rows as Record<string, number | string>[]).map((row) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'number' ? +fmt(v) : v])),
      ),
    );
}

/** The command as typed, for BENCHMARKS.md. */
function commandLine(): string {
  const args = process.argv.slice(2).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`));
  return process.env.npm_lifecycle_event === 'bench'
    ? `npm run bench -- ${args.join(' ')}`
    : `npx tsx bench/run.ts ${args.join(' ')}`;
}

async function runAll(opts: Opts): Promise<void> {
  const common = commonOptions(opts);
  const results: CaseResult[] = [];
  const failures: Failure[] = [];
  // every case with its defaults, then a row per speed option (the Python side stays the reference)

  const runs: [BenchCase<any>, Record<string, unknown>, string][] = [
    ...CASES.map((c) => [c, {}, c.name] as [BenchCase<any>, Record<string, unknown>, string]),
    [unmixMocoStep, { mixedForwards: 1 }, 'unmix-moco-step --mixed-forwards 1'],
    [unmixMocoStep, { channelsLast: true }, 'unmix-moco-step --channels-last'],
    // the update style the device does not default to (multi-tensor on CUDA, per-parameter loops on CPU)
    common.device.startsWith('cuda')
      ? [unmixMocoStep, { foreach: false }, 'unmix-moco-step --foreach off']
      : [unmixMocoStep, { foreach: true }, 'unmix-moco-step --foreach on'],
    // both sides under bf16 autocast (meant for GPUs; CPUs without bf16 units emulate it, slowly on both sides)
    [unmixMocoStep, { amp: 'bfloat16' }, 'unmix-moco-step --amp bfloat16'],
  ];
  for (const [c, extra, name] of runs) {
    try {
      const r = { ...(await runCase(c, common, extra)), case: name };
      results.push(r);
      if (!opts.json) printResult(r);
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      failures.push({ case: name, error });
      process.stderr.write(`bench: ${name} failed: ${error}\n`);
    }
  }
  const machine = machineInfo();
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const command = commandLine();
  // Quick figures mean nothing: they go to a file only when one is named.
  const out =
    (opts.out as string | undefined) ?? (common.quick ? undefined : path.join(__dirname, '..', 'BENCHMARKS.md'));
  if (out) {
    const section = renderSection({
      device: common.device,
      machine,
      results,
      failures,
      command,
      date,
      threads: common.threads,
    });
    const key = sectionKey(common.device, machine.libtorch);
    writeSection(out, key, section);
    process.stderr.write(`bench: wrote the ${key} section of ${out}\n`);
  }
  if (opts.json)
    console.log(
      JSON.stringify({ machine, date, command, device: common.device, threads: common.threads, results, failures }),
    );
  if (failures.length) process.exitCode = 1;
}

function main(): void {
  const program = new Command('npm run bench --')
    .description(
      'unmix against Python PyTorch on the same machine; speedup = PyTorch time ÷ unmix time (above 1: unmix is faster)',
    )
    .showHelpAfterError('(--help shows the options)')
    .exitOverride();
  for (const c of CASES) {
    c.options(addCommon(program.command(c.name).description(c.summary))).action(async (opts: Opts) => {
      const r = await runCase(c, commonOptions(opts), opts);
      if (opts.json) console.log(JSON.stringify(r));
      else printResult(r);
    });
  }
  addCommon(
    program
      .command('all')
      .description(`every case (${CASES.map((c) => c.name).join(', ')}) with its defaults, then BENCHMARKS.md`),
  )
    .option('--out <file>', 'the markdown file to update (default: BENCHMARKS.md; with --quick: none)')
    .action(runAll);
  program.parseAsync(process.argv).catch((e: unknown) => {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode; // commander has printed the message (or the help)
      return;
    }
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`${message.startsWith('bench') ? '' : 'bench: '}${message}\n`);
    process.exitCode = 1;
  });
}

main();
