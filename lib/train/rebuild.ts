// A trained method back from its run, for evaluation: the checkpoint's metadata names the method and
// holds the run's args (the trainer writes both), args.json beside it is the fallback for older
// checkpoints; the model is built from them (methods.ts) and the weights loaded strictly. The MoCo
// CIFAR reference's model_last.pth (torch.save) is read too.
import * as fs from 'fs';
import * as path from 'path';
import { loadCheckpoint } from '../io/checkpoint';
import { inspectSafetensors } from '../io/safetensors';
import { importTorchStateDict } from '../io/torch-file';
import { SslMethod } from '../ssl/method';
import { fromReferenceStateDict, MoCo } from '../ssl/moco';
import type { Device } from '../tensor';
import { methodFromArgs } from './methods';

export interface RebuiltRun {
  method: SslMethod;
  /** the method's name: moco, swav, byol or simclr */
  methodName: string;
  /** the run's args (what args.json holds) */
  args: Record<string, unknown>;
  /** the file the weights came from */
  checkpoint: string;
}

/**
 * Rebuilds the method of a run: `source` is a results folder (its checkpoint.safetensors), a trainer
 * checkpoint, or the reference demo's model_last.pth. The method is in eval mode, on `device`.
 */
export function rebuildTrained(source: string, options: { device?: Device } = {}): RebuiltRun {
  if (typeof source !== 'string' || !source)
    throw new TypeError(
      `rebuildTrained: source must be a results folder or a checkpoint file, got ${JSON.stringify(source)}`,
    );
  const device = options.device ?? 'cpu';
  const stat = fs.statSync(source, { throwIfNoEntry: false });
  if (!stat) throw new Error(`rebuildTrained: ${source} does not exist`);
  const checkpoint = stat.isDirectory() ? path.join(source, 'checkpoint.safetensors') : source;
  if (!fs.existsSync(checkpoint))
    throw new Error(`rebuildTrained: ${source} holds no checkpoint.safetensors (is it a results folder?)`);
  if (/\.(pth|pt|tar)$/.test(checkpoint)) return referenceMoCo(checkpoint, device);

  const { methodName, args, from } = runArgs(checkpoint);
  let method: SslMethod;
  try {
    method = methodFromArgs(methodName, args, device);
  } catch (e) {
    throw new Error(`rebuildTrained: ${from}: ${(e as Error).message}`);
  }
  loadCheckpoint(checkpoint, { modules: { method } }, { restoreRng: false, device });
  method.eval();
  return { method, methodName, args, checkpoint };
}

/** The method name and args: the checkpoint's metadata first, else args.json beside it. */
function runArgs(checkpoint: string): { methodName: string; args: Record<string, unknown>; from: string } {
  let meta: { method?: unknown; args?: Record<string, unknown> } = {};
  try {
    meta = JSON.parse(inspectSafetensors(checkpoint).metadata.unmix ?? '{}').metadata ?? {};
  } catch (e) {
    throw new Error(`rebuildTrained: ${checkpoint}: not a readable checkpoint (${(e as Error).message})`);
  }
  const argsFile = path.join(path.dirname(checkpoint), 'args.json');
  let fileArgs: Record<string, unknown> | undefined;
  if (fs.existsSync(argsFile)) {
    try {
      fileArgs = JSON.parse(fs.readFileSync(argsFile, 'utf8'));
    } catch (e) {
      throw new Error(`rebuildTrained: ${argsFile}: not JSON (${(e as Error).message})`);
    }
  }
  const hasArgs = meta.args && Object.keys(meta.args).length > 0;
  const args = hasArgs ? meta.args! : fileArgs;
  const methodName = typeof meta.method === 'string' ? meta.method : fileArgs?.method;
  if (!args || typeof methodName !== 'string') {
    throw new Error(
      `rebuildTrained: ${checkpoint} does not say how it was trained (no method and args in its metadata, ${fileArgs ? 'no method in' : 'and no'} ${argsFile})`,
    );
  }
  return { methodName, args, from: hasArgs ? `${checkpoint} (its metadata)` : argsFile };
}

/** The MoCo CIFAR demo's model_last.pth: {epoch, state_dict, optimizer} with encoder_q.net.N keys. */
function referenceMoCo(file: string, device: Device): RebuiltRun {
  const { stateDict } = fromReferenceStateDict(importTorchStateDict(file, { device }));
  const method = new MoCo({ preset: 'cifar', device });
  const { error } = method.checkStateDict(stateDict);
  if (error) throw new Error(`rebuildTrained: ${file}: not the MoCo CIFAR demo's ResNet-18 (${error})`);
  method.loadStateDict(stateDict);
  method.eval();
  return { method, methodName: 'moco', args: { method: 'moco', reference: file }, checkpoint: file };
}
