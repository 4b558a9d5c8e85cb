// SwAV + Un-Mix on CIFAR, as the reference's UnMix_SwAV/for_CIFAR/main_swav_unmix.py run by
// script_unmix_c10.sh / c100.sh (spec §3): Bottleneck "ResNet-18" with the padded CIFAR stem, head
// 2048→512→BN→ReLU→128, 100 prototypes frozen for 5005 iterations, old Sinkhorn, LARC(0.001, no clip)
// around SGD 0.9 / wd 1e-6, per-iteration warmup + cosine 0.6 → 0.0006, batch 128, 400 epochs, seed 31.
// The flags keep the reference's names (--base_lr, --nmb_prototypes, ...), so its commands carry over.
import { Command, Option } from 'commander';
import * as u from '../lib';
import { Loader } from '../lib/data/loader';
import { evalCifar, swavCifar } from '../lib/data/presets';
import { LARC } from '../lib/optim/larc';
import { warmupCosineLr } from '../lib/optim/schedules';
import { SWAV_CIFAR, SwAV } from '../lib/ssl/swav';
import { Trainer } from '../lib/train/trainer';
import { addCommonOptions, applyPreset, CommonOptions, knnMonitor, openData, parse, run } from './common';

export interface SwavCifarOptions extends CommonOptions {
  arch: 'resnet18' | 'resnet50';
  width: number;
  hidden_mlp: number;
  feat_dim: number;
  nmb_prototypes: number;
  nmb_crops: number[];
  size_crops: number[];
  min_scale_crops: number;
  max_scale_crops: number;
  crops_for_assign: number[];
  temperature: number;
  epsilon: number;
  sinkhorn_iterations: number;
  queue_length: number;
  epoch_queue_starts: number;
  epochs: number;
  batch_size: number;
  base_lr: number;
  final_lr: number;
  freeze_prototypes_niters: number;
  wd: number;
  warmup_epochs: number;
  start_warmup: number;
  unmix_prob: number;
  unmix_beta: number;
  run_swav: boolean;
  dump_path?: string;
  knnEvery: number;
  knnK: number;
  knnT: number;
}

const SMOKE: Partial<SwavCifarOptions> = { evalInit: true, width: 16, epochs: 6, batch_size: 128, nmb_prototypes: 30, freeze_prototypes_niters: 40, warmup_epochs: 1, subset: 500, testSubset: 100, knnEvery: 1 };

/** The SwAV of these options (also used by knn_eval.ts / linear_eval.ts to rebuild a trained run from args.json). */
export function buildSwav(o: SwavCifarOptions): SwAV {
  return new SwAV({
    variant: 'cifar',
    backbone: { ...SWAV_CIFAR.backbone, layers: o.arch === 'resnet50' ? [3, 4, 6, 3] : [2, 2, 2, 2], width: o.width },
    hiddenMlp: o.hidden_mlp,
    featDim: o.feat_dim,
    nPrototypes: o.nmb_prototypes,
    temperature: o.temperature,
    epsilon: o.epsilon,
    sinkhornIterations: o.sinkhorn_iterations,
    cropsForAssign: o.crops_for_assign,
    queueLength: o.queue_length,
    batchSize: o.batch_size,
    epochQueueStarts: o.epoch_queue_starts,
    freezePrototypesIters: o.freeze_prototypes_niters,
    unmix: { enabled: !o.run_swav, prob: o.unmix_prob, beta: o.unmix_beta },
    device: o.device,
  });
}

export function swavCifarMain(name: string, resultsDir: string): void {
  const program = new Command(name)
    .description(`SwAV + Un-Mix on CIFAR (the reference's UnMix_SwAV/for_CIFAR/main_swav_unmix.py via ${name.includes('100') ? 'script_unmix_c100.sh' : 'script_unmix_c10.sh'})`)
    .addOption(new Option('--arch <arch>', 'resnet18: Bottleneck blocks [2,2,2,2] as the reference; resnet50: [3,4,6,3]').choices(['resnet18', 'resnet50']).default('resnet18'))
    .option('--width <n>', 'base width of the ResNet (64 = the reference)', parse.int, 64)
    .option('--hidden_mlp <n>', 'hidden units of the projection head', parse.int, 512)
    .option('--feat_dim <n>', 'feature dimension', parse.int, 128)
    .option('--nmb_prototypes <n>', 'number of prototypes', parse.int, 100)
    .option('--nmb_crops <list>', 'crops per resolution', parse.list, [2])
    .option('--size_crops <list>', 'crop sizes', parse.list, [32])
    .option('--min_scale_crops <s>', 'RandomResizedCrop minimum scale', parse.num, 0.14)
    .option('--max_scale_crops <s>', 'RandomResizedCrop maximum scale', parse.num, 1)
    .option('--crops_for_assign <list>', 'crops whose codes are computed', parse.list, [0, 1])
    .option('--temperature <t>', 'softmax temperature', parse.num, 0.1)
    .option('--epsilon <e>', 'Sinkhorn regularisation', parse.num, 0.05)
    .option('--sinkhorn_iterations <n>', 'Sinkhorn iterations', parse.int, 3)
    .option('--queue_length <n>', 'queue length (rounded down to a multiple of the batch: 120 → 0)', parse.int, 120)
    .option('--epoch_queue_starts <n>', 'epoch from which the queue is used', parse.int, 15)
    .option('--epochs <n>', 'epochs', parse.int, 400)
    .option('--batch_size <n>', 'images per batch', parse.int, 128)
    .option('--base_lr <lr>', 'learning rate after warmup', parse.num, 0.6)
    .option('--final_lr <lr>', 'learning rate at the end of the cosine', parse.num, 0.0006)
    .option('--freeze_prototypes_niters <n>', 'iterations during which the prototypes are frozen', parse.int, 5005)
    .option('--wd <wd>', 'weight decay (inside LARC)', parse.num, 1e-6)
    .option('--warmup_epochs <n>', 'linear warmup epochs', parse.int, 5)
    .option('--start_warmup <lr>', 'learning rate at the start of the warmup', parse.num, 0)
    .option('--unmix_prob <p>', 'probability of the global mixture (else region)', parse.num, 0.5)
    .option('--unmix_beta <b>', 'λ ~ Beta(beta, beta)', parse.num, 1.0)
    .option('--run_swav', 'plain SwAV (the baseline rows)', false)
    .option('--dump_path <dir>', 'the reference\'s name for --results-dir')
    .option('--knn-every <n>', 'a kNN monitor on the backbone features every n epochs (0: off, as the reference)', parse.int, 0)
    .option('--knn-k <k>', 'kNN neighbours', parse.int, 200)
    .option('--knn-t <t>', 'kNN temperature', parse.num, 0.1);
  addCommonOptions(program, resultsDir);
  program.setOptionValueWithSource('seed', 31, 'default'); // fix_random_seeds(31) in the reference
  program.parse();
  let o = program.opts<SwavCifarOptions>();
  if (o.preset === 'smoke') o = applyPreset(program, o, SMOKE);
  if (o.dump_path) o.resultsDir = o.dump_path;

  run(async () => {
    u.manualSeed(o.seed);
    console.log(`unmix: ${name}: ${o.run_swav ? 'SwAV' : 'SwAV + Un-Mix'}, ${o.arch} (bottleneck) width ${o.width}, ${o.epochs} epochs, batch ${o.batch_size}, ${o.device}`);
    if (o.nmb_crops.length !== o.size_crops.length) throw new Error('--nmb_crops and --size_crops need one value per resolution');
    const data = await openData(o);
    const views = o.nmb_crops.flatMap((count, i) => swavCifar({ size: o.size_crops[i] }).map((v) => ({
      count,
      pipeline: v.pipeline.map((s) => (s.op === 'randomResizedCrop' ? { ...s, scale: [o.min_scale_crops, o.max_scale_crops] as [number, number] } : s)),
    })));
    const loader = new Loader(data.train, { batchSize: o.batch_size, views, seed: o.seed, device: o.device });
    const method = buildSwav(o);
    const sgd = new u.SGD(method.trainableParameters(), { lr: o.base_lr, momentum: 0.9, weightDecay: o.wd });
    const optimizer = new LARC(sgd, { trustCoefficient: 0.001, clip: false });
    const itersPerEpoch = Math.min(loader.length, o.itersPerEpoch ?? Infinity);
    const schedule = warmupCosineLr({ baseLr: o.base_lr, finalLr: o.final_lr, startWarmup: o.start_warmup, warmupEpochs: o.warmup_epochs, epochs: o.epochs, itersPerEpoch });
    const trainer = new Trainer({
      method,
      loader,
      optimizer,
      lr: ({ iteration }) => schedule[Math.min(iteration, schedule.length - 1)],
      epochs: o.epochs,
      resultsDir: o.resultsDir,
      seed: o.seed,
      resume: o.resume,
      itersPerEpoch: o.itersPerEpoch,
      progress: o.progress ? 'auto' : false,
      evaluate: o.knnEvery > 0 ? knnMonitor(method, data, { batchSize: 256, pipeline: evalCifar(), k: o.knnK, t: o.knnT, features: 'backbone' }) : undefined,
      evaluateFirst: o.evalInit,
      evaluateEvery: o.knnEvery || undefined,
      args: { ...o, example: name },
    });
    const result = await trainer.run();
    if (result.interrupted) process.exit(130);
    console.log(`done: ${result.history.filter((r) => r.epoch > 0).length} epochs; results in ${o.resultsDir}. Linear evaluation: npx tsx examples/linear_eval.ts --checkpoint ${o.resultsDir}/checkpoint.safetensors --data ${o.data ?? 'synthetic'}`);
  });
}
