// Calls every native entry point (the addon's exports and Generator's methods) with arguments of
// the wrong kinds: each call must end in a result or a JS Error, never an abort (a C++ exception
// past N-API) or a crash. Run by test/fuzz.test.ts in its own process:
//   node --import tsx test/fuzz-native.ts SEED [--trace]
import { writeSync } from 'fs';
import * as u from '../lib';
import { native } from '../lib/native';

let seed = Number(process.argv[2] ?? 1);
const trace = process.argv.includes('--trace');
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};

const live = u.rand([2, 3]);
const disposed = u.rand([2]);
disposed.dispose();
const kinds = (): unknown[] => [
  undefined,
  null,
  true,
  false,
  0,
  1,
  -1,
  2.5,
  NaN,
  Infinity,
  -Infinity,
  2 ** 63,
  -(2 ** 63),
  2 ** 31,
  1e300,
  10n,
  -(2n ** 70n),
  '',
  'x',
  'cpu',
  'float32',
  'cuda:99',
  [],
  [[]],
  [1, 2],
  [-1],
  ['a'],
  [null],
  [live],
  {},
  { handle: 1 },
  Symbol('s'),
  () => 1,
  new Uint8Array(3),
  new Float32Array(new SharedArrayBuffer(8)),
  new ArrayBuffer(4),
  live,
  disposed,
  new Map(),
  Object.create(null),
];

// Left out: setTensorHandleKey with a Symbol (it would re-key every tensor; other kinds are
// fuzzed), and states that would slow the rest of the run (threads are reset after each call).
const entries: [string, (...args: unknown[]) => unknown][] = [];
const addon = native as unknown as Record<string, unknown>;
for (const name of Object.keys(addon).sort()) {
  if (typeof addon[name] === 'function' && name !== 'Generator')
    entries.push([name, addon[name] as (...args: unknown[]) => unknown]);
}
const Gen = native.Generator as unknown as new (...args: unknown[]) => Record<string, (...args: unknown[]) => unknown>;
entries.push(['new Generator', (...args) => new Gen(...args)]);
const generator = new Gen();
for (const m of ['manualSeed', 'initialSeed', 'getState', 'setState', 'device'])
  entries.push([`Generator.${m}`, (...args) => generator[m](...args)]);

const threads = u.getNumThreads();
let calls = 0;
let errors = 0;
const callOne = (name: string, fn: (...args: unknown[]) => unknown, args: unknown[]) => {
  if (name === 'setTensorHandleKey' && typeof args[0] === 'symbol') return;
  calls++;
  try {
    const r = fn(...args);
    if (r instanceof Promise) r.catch(() => undefined);
  } catch (e) {
    if (!(e instanceof Error)) throw new Error(`${name} threw a non-Error: ${String(e)}`);
    errors++;
  }
  native.setGradEnabled(true);
  if (native.getNumThreads() !== threads) native.setNumThreads(threads);
};

for (const [name, fn] of entries) {
  if (trace) writeSync(2, `${name}\n`); // once per entry point: per call would fill the pipe
  // Every kind in every position of the first four, then random combinations.
  for (let pos = 0; pos < 4; pos++) {
    for (const v of kinds())
      callOne(
        name,
        fn,
        Array.from({ length: pos + 1 }, (_, i) => (i === pos ? v : undefined)),
      );
  }
  for (let k = 0; k < 40; k++) {
    const all = kinds();
    callOne(
      name,
      fn,
      Array.from({ length: Math.floor(random() * 6) }, () => all[Math.floor(random() * all.length)]),
    );
  }
}
// Let rejected promises settle, then prove the process is still healthy.
setTimeout(() => {
  if (u.ones([2]).add(1).sum().item() !== 4) throw new Error('the addon is unhealthy after the fuzz run');
  console.log(JSON.stringify({ calls, errors, entries: entries.length }));
}, 100);
