// A Python that has TensorBoard, to read our event files back with EventAccumulator:
// UNMIX_TENSORBOARD_PYTHON, else the venv scripts/ci-notebooks.sh makes, else python3 on PATH.
import { spawnSync } from 'child_process';
import * as os from 'os';
import * as path from 'path';

export const TENSORBOARD_VENV = path.join(
  process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'),
  'unmix',
  'tensorboard-venv',
);

const hasTensorboard = (python: string) =>
  spawnSync(python, ['-c', 'import tensorboard'], { stdio: 'ignore' }).status === 0;

const asked = process.env.UNMIX_TENSORBOARD_PYTHON;
if (asked && !hasTensorboard(asked)) throw new Error(`UNMIX_TENSORBOARD_PYTHON=${asked} cannot import tensorboard`);

export const tensorboardPython: string | null =
  asked || [path.join(TENSORBOARD_VENV, 'bin', 'python3'), 'python3'].find(hasTensorboard) || null;

export const NO_TENSORBOARD =
  'skipped: no Python with tensorboard; set UNMIX_TENSORBOARD_PYTHON, or: python3 -m venv VENV && VENV/bin/pip install tensorboard ' +
  `(scripts/ci-notebooks.sh makes ${TENSORBOARD_VENV} from the local wheel store)`;
