// BENCHMARKS.md: one section per device (cpu, cuda) and LibTorch version, each rewritten whole by
// `npm run bench -- all` there and left alone by the others, with the machine, LibTorch, date and command.
import * as fs from 'fs';
import * as os from 'os';
import * as u from '../../lib';
import { CaseResult } from './harness';

export interface Machine {
  cpu: string;
  cores: number;
  os: string;
  node: string;
  libtorch: string;
  libtorchSource: string;
  cuda: string | null;
}

export function machineInfo(): Machine {
  const info = u.info();
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    libtorch: info.libtorch,
    libtorchSource: info.source,
    cuda: info.cudaVersion,
  };
}

/** Three significant digits, no exponent for the sizes we print. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

function configText(config: Record<string, unknown>): string {
  return Object.entries(config)
    .filter(([k]) => !['device', 'threads', 'dir', 'file', 'n', 'ops'].includes(k))
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(', ');
}

export interface Failure {
  case: string;
  error: string;
}

export function renderSection(o: {
  device: string;
  machine: Machine;
  results: CaseResult[];
  failures: Failure[];
  command: string;
  date: string;
  threads: number;
}): string {
  const { machine: m, results } = o;
  const py = results[0]?.python ?? {};
  const gpu = typeof py.gpu === 'string' ? `, GPU ${py.gpu}` : '';
  const lines = [
    `## ${o.device === 'cpu' ? 'CPU' : `CUDA (${o.device})`}, LibTorch ${m.libtorch}${m.cuda ? ` (a CUDA ${m.cuda} build)` : ''}`,
    '',
    `- Machine: ${m.cpu}, ${m.cores} cores${gpu}; ${m.os}; Node ${m.node}`,
    `- unmix: LibTorch ${m.libtorch} (${m.libtorchSource})${m.cuda ? `, built with CUDA ${m.cuda}` : ''}; Python: PyTorch ${String(py.torch ?? '?')} (${String(py.executable ?? '?')}); intra-op threads: ${o.threads} on both sides; OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY ?? '(unset)'} on both sides (the twin inherits it; unmix sets PASSIVE unless told)`,
    `- Date: ${o.date}`,
    `- Command: \`${o.command}\``,
    '',
    '| case | unmix ms | PyTorch ms | speedup | what one figure times | settings |',
    '| --- | ---: | ---: | ---: | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.case} | ${fmt(r.ts_ms)} | ${fmt(r.py_ms)} | ${fmt(r.speedup)} | ${r.unit} | ${configText(r.config)}; median of ${r.repeats} after ${r.warmup} warm-up |`,
    ),
    ...o.failures.map((f) => `| ${f.case} | – | – | – | failed: ${f.error.split('\n')[0].replace(/\|/g, '\\|')} | |`),
  ];
  const ops = results.find((r) => r.case === 'op-overhead');
  if (ops && Array.isArray(ops.rows)) {
    lines.push(
      '',
      'op-overhead per call:',
      '',
      '| op | unmix µs | PyTorch µs | speedup |',
      '| --- | ---: | ---: | ---: |',
    );
    for (const row of ops.rows as { op: string; ts_us: number; py_us: number; speedup: number }[])
      lines.push(`| ${row.op} | ${fmt(row.ts_us)} | ${fmt(row.py_us)} | ${fmt(row.speedup)} |`);
  }
  const aug = results.find((r) => r.case === 'augment');
  if (aug)
    lines.push(
      '',
      `augment: unmix ${fmt(aug.ts_images_per_s as number)} images/s, PyTorch ${fmt(aug.py_images_per_s as number)} images/s (two views each).`,
    );
  const knn = results.find((r) => r.case === 'knn');
  if (knn)
    lines.push(
      '',
      `knn: top-1 on the shared random features: unmix ${fmt(knn.acc1_ts as number)}%, PyTorch ${fmt(knn.acc1_py as number)}% (must agree).`,
    );
  return lines.join('\n');
}

const HEADER = `# Benchmarks

unmix (TypeScript over LibTorch) against the same work in Python PyTorch on the same machine, in one
command per device: \`npm run bench -- all\` (see bench/README.md for the cases and how they measure).
speedup = PyTorch's time ÷ unmix's time: above 1, unmix is faster. Each figure is the median of
repeats that alternate between the two sides after a warm-up. Each section is rewritten by the
latest \`all\` run on its device and LibTorch.
`;

/** The section of a device and LibTorch: `cpu-libtorch-2.14.1`. */
export function sectionKey(device: string, libtorch: string): string {
  return `${device === 'cpu' ? 'cpu' : 'cuda'}-libtorch-${libtorch}`;
}

/** Replaces (or adds) the section of `key` in `file`, keeping the other sections. */
export function writeSection(file: string, key: string, section: string): void {
  const begin = `<!-- bench:${key} -->`;
  const end = `<!-- /bench:${key} -->`;
  const block = `${begin}\n${section}\n${end}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : HEADER;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) text = text.slice(0, i) + block + text.slice(j + end.length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(file, text);
}
