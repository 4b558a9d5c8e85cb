// Calls every op the dispatcher lists (every namespace, internal and backward kernels, sparse and
// backend families too), through unmix's public `call`, with arguments of the right kinds and
// random small values (seeded). Run by test/fuzz.test.ts in its own process: the process must
// survive every call, each ending in a result or a JS Error. Ops that `call` refuses by policy
// (native/dispatch.cc RefusalReason: they need {unchecked: true}) must be refused with that
// message (counted as refused). Only out= variants are left out. It runs in a temporary folder, since
// ops such as from_file may create files.
//   node --import tsx test/fuzz-ops.ts SEED [--trace] [--rounds N]
import { mkdtempSync, writeSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import * as u from '../lib';

process.chdir(mkdtempSync(path.join(tmpdir(), 'unmix-fuzz-')));

let seed = Number(process.argv[2] ?? 1);
const trace = process.argv.includes('--trace');
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];

const shapes = [[2, 3], [3], [2, 2, 2, 2], [], [1, 3, 4, 4], [4], [2, 1, 3]];
const tensor = () => {
  const dtype = pick<u.DType>(['float32', 'float32', 'int64', 'bool', 'float64', 'uint8']);
  return u.rand(pick(shapes)).mul(4).to(dtype);
};

function value(type: string): unknown {
  type = type.replace(/\(.*?\)/g, '').trim();
  if (type.endsWith('?')) return random() < 0.3 ? null : value(type.slice(0, -1));
  const list = /^(.*)\[\d*\]$/.exec(type);
  if (list)
    return Array.from({ length: Math.floor(random() * 3) + (list[1] === 'Tensor' ? 1 : 0) }, () => value(list[1]));
  switch (type) {
    case 'Tensor':
      return tensor();
    case 'int':
    case 'SymInt':
      return pick([-1, 0, 1, 2, 3]);
    case 'float':
      return pick([0.5, 1e-5, -1, 2]);
    case 'bool':
      return random() < 0.5;
    case 'Scalar':
      return pick([0, 1, 2.5, -1, true]);
    case 'str':
      return pick(['mean', 'sum', 'none', 'constant', 'floor', 'ij']);
    case 'ScalarType':
      return pick(['float32', 'int64', 'bool']);
    case 'Device':
      return 'cpu';
    case 'Layout':
      return 'strided';
    case 'MemoryFormat':
      return pick(['contiguous_format', 'channels_last']);
    default:
      return null;
  }
}

const roundsAt = process.argv.indexOf('--rounds');
const rounds = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 3;
let calls = 0;
let results = 0;
let refused = 0;
for (const op of u.listOps()) {
  let schemas: string[];
  try {
    schemas = u.opSchemas(op);
  } catch {
    continue; // no schema (e.g. a registered name without a kernel)
  }
  for (const schema of schemas) {
    const m = /^([\w:.]+)\((.*)\) ->/.exec(schema);
    if (!m || /\.out$|_out$/.test(m[1])) continue;
    const params = m[2].split(/, (?![^[]*\])/).filter((p) => p && p !== '*');
    for (let k = 0; k < rounds; k++) {
      const args: unknown[] = [];
      for (const p of params) {
        const [type, name] = p.split(/ (?=[^ ]+$)/);
        if (name?.includes('=') && random() < 0.5) break;
        args.push(value(type));
      }
      if (trace) writeSync(2, `${m[1]}\n`);
      calls++;
      u.scope(() => {
        try {
          u.call(m[1], args);
          results++;
        } catch (e) {
          if (!(e instanceof Error)) throw new Error(`${m[1]} threw a non-Error: ${String(e)}`);
          if (/ is refused: |unsafe=true skips/.test(e.message)) refused++;
        }
      });
    }
  }
}
console.log(JSON.stringify({ calls, results, refused }));
