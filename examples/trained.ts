// Rebuilds a trained method for evaluation: from an unmix checkpoint (its folder's args.json says which
// method and options), or from the MoCo CIFAR reference's model_last.pth (torch.save) with --arch.
import * as fs from 'fs';
import * as path from 'path';
import * as u from '../lib';
import { loadCheckpoint } from '../lib/io/checkpoint';
import { importTorchStateDict } from '../lib/io/torch-file';
import { SslMethod } from '../lib/ssl/method';
import { fromReferenceStateDict, MoCo } from '../lib/ssl/moco';
import { buildMoCo, MoCoCifarOptions } from './moco_cifar';
import { buildMoCoImagenet, MoCoImagenetOptions } from './moco_imagenet';
import { buildSwav, SwavExampleOptions } from './swav';

export function loadTrained(checkpoint: string, device: u.Device): { method: SslMethod; args: Record<string, unknown> } {
  if (!fs.existsSync(checkpoint)) throw new Error(`${checkpoint} does not exist`);
  if (/\.(pth|pt|tar)$/.test(checkpoint)) return loadReferenceMoCo(checkpoint, device);
  const argsFile = path.join(path.dirname(checkpoint), 'args.json');
  if (!fs.existsSync(argsFile)) throw new Error(`${argsFile} is missing: it records how ${checkpoint} was trained (method and options)`);
  const args = JSON.parse(fs.readFileSync(argsFile, 'utf8')) as Record<string, unknown>;
  let method: SslMethod;
  if (args.method === 'moco' && args.example === 'unmix_moco_imagenet.ts') method = buildMoCoImagenet({ ...(args as unknown as MoCoImagenetOptions), device });
  else if (args.method === 'moco') method = buildMoCo({ ...(args as unknown as MoCoCifarOptions), device });
  else if (args.method === 'swav') method = buildSwav({ ...(args as unknown as SwavExampleOptions), device }, args.variant === 'imagenet' ? 'imagenet' : 'cifar');
  else throw new Error(`${argsFile}: method '${String(args.method)}' cannot be rebuilt here (moco and swav can)`);
  loadCheckpoint(checkpoint, { modules: { method } }, { restoreRng: false, device });
  return { method, args };
}

/** The MoCo CIFAR demo's model_last.pth: {epoch, state_dict, optimizer} with encoder_q.net.N keys. */
function loadReferenceMoCo(file: string, device: u.Device): { method: SslMethod; args: Record<string, unknown> } {
  const { stateDict } = fromReferenceStateDict(importTorchStateDict(file, { device }));
  const method = new MoCo({ preset: 'cifar', device });
  const { error } = method.checkStateDict(stateDict);
  if (error) throw new Error(`${file}: not the MoCo CIFAR demo's ResNet-18 (${error})`);
  method.loadStateDict(stateDict);
  return { method, args: { method: 'moco', reference: file } };
}
