// A SwAV example run's weights as a torch.save state dict in main_swav_unmix.py's names (the
// trunk at the top level), for `--init-weights` on both sides (e.g. plateau-steps.sh).
//
//   npx tsx bench/parity/ts-checkpoint-to-torch.ts RUN_DIR OUT.pth
import * as u from '../../lib';

const [run, out] = process.argv.slice(2);
if (!out) throw new Error('usage: ts-checkpoint-to-torch.ts RUN_DIR OUT.pth');
const { method, methodName } = u.rebuildTrained(run);
if (!(method instanceof u.SwAV)) throw new Error(`${run} is a ${methodName} run; this converts SwAV's`);
const state = method.referenceStateDict();
u.saveTorchStateDict(out, state);
console.log(`${out}: ${Object.keys(state).length} tensors`);
