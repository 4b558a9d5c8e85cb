// Renders Vega-Lite specs to SVG on a worker thread. vega and vega-lite are ES modules only, and jest and
// tslab load our CommonJS in contexts where import() is unavailable; a worker imports them natively,
// and keeps the CPU-heavy layout off the training thread.
import { parentPort } from 'node:worker_threads';

let libraries;
const load = () => (libraries ??= Promise.all([import('vega'), import('vega-lite')]));

parentPort.on('message', async ({ id, spec }) => {
  try {
    const [vega, vegaLite] = await load();
    const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
    const svg = await view.toSVG();
    view.finalize();
    parentPort.postMessage({ id, svg });
  } catch (e) {
    parentPort.postMessage({ id, error: e instanceof Error ? e.message : String(e) });
  }
});
