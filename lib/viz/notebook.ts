// Showing pictures in a tslab notebook (npx unmix notebook): show() adds an output, liveView() keeps one
// output and redraws it (curves while training). They use the kernel's own tslab module, found from
// the process's main script, since display state lives in that module instance.
import * as path from 'path';
import { Picture } from './grid';

interface TslabDisplay {
  png(bytes: Uint8Array): void;
  markdown(text: string): void;
}
interface Tslab {
  display: TslabDisplay;
  newDisplay(): TslabDisplay;
}

function tslab(): Tslab {
  const from = require.main?.filename ? [path.dirname(require.main.filename)] : [];
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(require.resolve('tslab', { paths: [...from, process.cwd()] })) as Tslab;
  } catch {
    throw new Error(
      'show: not running in a tslab notebook (start one with `npx unmix notebook`); write picture.png to a file instead',
    );
  }
}

type Showable = Picture | Buffer | Promise<Picture | Buffer>;

const bytes = (p: Picture | Buffer) => (Buffer.isBuffer(p) ? p : p.png);

/** Shows a picture (or a PNG) as a cell output. */
export async function show(picture: Showable): Promise<void> {
  tslab().display.png(bytes(await picture));
}

/** One output that each show() replaces (for pictures redrawn as training goes). */
export function liveView(): { show(picture: Showable): Promise<void> } {
  const display = tslab().newDisplay();
  return { show: async (picture) => display.png(bytes(await picture)) };
}
