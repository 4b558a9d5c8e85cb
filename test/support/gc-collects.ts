// Run by test/memory.test.ts in its own process (node --expose-gc): tensors no scope owns are freed
// by the GC. FinalizationRegistry callbacks run from the event loop, one registry per task; in a
// jest worker the registries of earlier test files' contexts queue ahead and can hold ours back
// indefinitely, so this runs where a program runs: one context. Prints one JSON line of counts.
import * as u from '../../lib';

const gc = (globalThis as { gc?: () => void }).gc!;
const turn = () => new Promise((r) => setImmediate(r));
const device = (process.env.UNMIX_TEST_DEVICE ?? 'cpu') as u.Device;

/** Live tensors above `before` once the GC has had its turns (up to 50). */
async function leftAfterGc(before: number): Promise<number> {
  for (let i = 0; i < 50 && u.liveTensors().count > before; i++) {
    gc();
    await turn();
  }
  return u.liveTensors().count - before;
}

async function main(): Promise<void> {
  const out: Record<string, number> = {};
  // `held` keeps each batch reachable while it is counted (a GC during the loop would free some
  // early and make the count short), then is dropped so that only the GC can free them.
  let held: u.Tensor[] = [];
  let before = u.liveTensors().count;
  for (let i = 0; i < 2000; i++) held.push(u.ones([16], { device })); // no scope at all
  out.unscopedMade = u.liveTensors().count - before;
  held = [];
  out.unscopedLeft = await leftAfterGc(before);

  before = u.liveTensors().count;
  for (let i = 0; i < 1000; i++) held.push(u.scope(() => u.ones([16], { device }).add(1))); // returned from the outermost scope
  for (let i = 0; i < 1000; i++) held.push(u.scope(() => u.keep(u.ones([16], { device })))); // kept
  out.escapedMade = u.liveTensors().count - before;
  held = [];
  out.escapedLeft = await leftAfterGc(before);

  before = u.liveTensors().count;
  let late: Promise<void> | undefined;
  u.scope(() => {
    late = (async () => {
      await new Promise((r) => setTimeout(r, 5));
      for (let i = 0; i < 500; i++) held.push(u.ones([4], { device })); // after the scope has ended
    })();
  });
  await late;
  out.lateMade = u.liveTensors().count - before;
  held = [];
  out.lateLeft = await leftAfterGc(before);
  console.log(JSON.stringify(out));
}

void main();
