// SwAV + Un-Mix on ImageNet-style folders, as the reference's UnMix_SwAV/for_ImageNet/main_swav_unmix.py
// (spec §4.2): ResNet-50, head 2048→2048→BN→ReLU→128, 3000 prototypes, new Sinkhorn, multi-crop
// 2×224 + 6×96 with crops mixed in pairs, queue 3840 from epoch 15, LARC, warmup + cosine.
// Defaults follow unmix_swav_200ep_bs256_pretrain.sh as one process (batch 256, lr 0.6 → 0.0006).
//   npx tsx examples/unmix_swav_imagenet.ts --data /data/imagenet
//   npx tsx examples/unmix_swav_imagenet.ts --preset smoke        a few minutes on 2 CPU cores, embedded data
import { Command, Option } from 'commander';
import * as u from '../lib';
import { Loader } from '../lib/data/loader';
import { blurKernel, evalImagenet, IMAGENET_MEAN, SWAV_IMAGENET_STD } from '../lib/data/presets';
import { Pipeline, ViewSpec } from '../lib/data/pipeline';
import { LARC } from '../lib/optim/larc';
import { warmupCosineLr } from '../lib/optim/schedules';
import { SWAV_IMAGENET, SwAV } from '../lib/ssl/swav';
import { Trainer } from '../lib/train/trainer';
import { addCommonOptions, applyPreset, CommonOptions, knnMonitor, openData, parse, run } from './common';

interface Options extends CommonOptions {
  arch: 'resnet18' | 'resnet50';
  width: number;
  hidden_mlp: number;
  feat_dim: number;
  nmb_prototypes: number;
  nmb_crops: number[];
  size_crops: number[];
  min_scale_crops: number[];
  max_scale_crops: number[];
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
}

const nums = (v: string) => v.split(',').map(Number);
const SMOKE: Partial<Options> = { evalInit: true,
  arch: 'resnet18', width: 16, nmb_prototypes: 30, nmb_crops: [2, 2], size_crops: [64, 32], queue_length: 0, epochs: 8, batch_size: 32,
  freeze_prototypes_niters: 20, subset: 100, testSubset: 30, knnEvery: 1, knnK: 50, hidden_mlp: 256,
};

const program = new Command('unmix_swav_imagenet.ts')
  .description('SwAV + Un-Mix on an ImageNet-style folder (the reference\'s UnMix_SwAV/for_ImageNet/main_swav_unmix.py)')
  .addOption(new Option('--arch <arch>', 'resnet50 (the reference) or a Bottleneck [2,2,2,2] resnet18').choices(['resnet18', 'resnet50']).default('resnet50'))
  .option('--width <n>', 'base width of the ResNet (64 = the reference)', parse.int, 64)
  .option('--hidden_mlp <n>', 'hidden units of the projection head', parse.int, 2048)
  .option('--feat_dim <n>', 'feature dimension', parse.int, 128)
  .option('--nmb_prototypes <n>', 'number of prototypes', parse.int, 3000)
  .option('--nmb_crops <list>', 'crops per resolution', parse.list, [2, 6])
  .option('--size_crops <list>', 'crop sizes', parse.list, [224, 96])
  .option('--min_scale_crops <list>', 'RandomResizedCrop minimum scale per resolution', nums, [0.14, 0.05])
  .option('--max_scale_crops <list>', 'RandomResizedCrop maximum scale per resolution', nums, [1, 0.14])
  .option('--crops_for_assign <list>', 'crops whose codes are computed', parse.list, [0, 1])
  .option('--temperature <t>', 'softmax temperature', parse.num, 0.1)
  .option('--epsilon <e>', 'Sinkhorn regularisation', parse.num, 0.05)
  .option('--sinkhorn_iterations <n>', 'Sinkhorn iterations', parse.int, 3)
  .option('--queue_length <n>', 'queue length (rounded down to a multiple of the batch)', parse.int, 3840)
  .option('--epoch_queue_starts <n>', 'epoch from which the queue is used', parse.int, 15)
  .option('--epochs <n>', 'epochs', parse.int, 200)
  .option('--batch_size <n>', 'images per batch', parse.int, 256)
  .option('--base_lr <lr>', 'learning rate after warmup', parse.num, 0.6)
  .option('--final_lr <lr>', 'learning rate at the end of the cosine', parse.num, 0.0006)
  .option('--freeze_prototypes_niters <n>', 'iterations during which the prototypes are frozen', parse.int, 5005)
  .option('--wd <wd>', 'weight decay (inside LARC)', parse.num, 1e-6)
  .option('--warmup_epochs <n>', 'linear warmup epochs', parse.int, 0)
  .option('--start_warmup <lr>', 'learning rate at the start of the warmup', parse.num, 0)
  .option('--unmix_prob <p>', 'probability of the global mixture (the reference default 0: region only)', parse.num, 0.0)
  .option('--unmix_beta <b>', 'λ ~ Beta(beta, beta)', parse.num, 1.0)
  .option('--run_swav', 'plain SwAV', false)
  .option('--dump_path <dir>', 'the reference\'s name for --results-dir')
  .option('--knn-every <n>', 'a kNN monitor on the backbone features every n epochs (0: off, as the reference)', parse.int, 0)
  .option('--knn-k <k>', 'kNN neighbours', parse.int, 200);
addCommonOptions(program, './exp/unmix_swav_imagenet');
program.setOptionValueWithSource('seed', 31, 'default');
program.parse();
let o = program.opts<Options>();
if (o.preset === 'smoke') o = applyPreset(program, o, SMOKE);
if (o.dump_path) o.resultsDir = o.dump_path;

run(async () => {
  u.manualSeed(o.seed);
  const n = o.nmb_crops.length;
  if ([o.size_crops, o.min_scale_crops, o.max_scale_crops].some((l) => l.length !== n)) throw new Error('--nmb_crops, --size_crops, --min_scale_crops and --max_scale_crops need one value per resolution');
  console.log(`unmix: ${o.run_swav ? 'SwAV' : 'SwAV + Un-Mix'}, ${o.arch} width ${o.width}, crops ${o.nmb_crops.map((c, i) => `${c}×${o.size_crops[i]}`).join(' + ')}, ${o.epochs} epochs, batch ${o.batch_size}, ${o.device}`);
  const data = await openData(o);
  // get_color_distortion(s=1.0) + PILRandomGaussianBlur(p 0.5), per resolution (spec §4.2)
  const views: ViewSpec[] = o.nmb_crops.map((count, i) => {
    const pipeline: Pipeline = [
      { op: 'randomResizedCrop', size: o.size_crops[i], scale: [o.min_scale_crops[i], o.max_scale_crops[i]] },
      { op: 'horizontalFlip', p: 0.5 },
      { op: 'colorJitter', brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2, p: 0.8 },
      { op: 'grayscale', p: 0.2 },
      { op: 'gaussianBlur', kernelSize: blurKernel(o.size_crops[i]), sigma: [0.1, 2], p: 0.5 },
      { op: 'normalize', mean: IMAGENET_MEAN, std: SWAV_IMAGENET_STD },
    ];
    return { count, pipeline };
  });
  const loader = new Loader(data.train, { batchSize: o.batch_size, views, seed: o.seed, device: o.device });
  const method = new SwAV({
    variant: 'imagenet',
    backbone: { ...SWAV_IMAGENET.backbone, layers: o.arch === 'resnet50' ? [3, 4, 6, 3] : [2, 2, 2, 2], width: o.width },
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
  const optimizer = new LARC(new u.SGD(method.trainableParameters(), { lr: o.base_lr, momentum: 0.9, weightDecay: o.wd }), { trustCoefficient: 0.001, clip: false });
  const itersPerEpoch = Math.min(loader.length, o.itersPerEpoch ?? Infinity);
  const schedule = warmupCosineLr({ baseLr: o.base_lr, finalLr: o.final_lr, startWarmup: o.start_warmup, warmupEpochs: o.warmup_epochs, epochs: o.epochs, itersPerEpoch });
  const crop = o.size_crops[0];
  const evalPipeline: Pipeline = crop < 224 ? [{ op: 'resize', size: Math.round((crop * 256) / 224) }, { op: 'centerCrop', size: crop }, ...evalImagenet().slice(2)] : evalImagenet();
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
    evaluate: o.knnEvery > 0 ? knnMonitor(method, data, { batchSize: 128, pipeline: evalPipeline, k: o.knnK, t: 0.1, features: 'backbone' }) : undefined,
    evaluateEvery: o.knnEvery || undefined,
    args: { ...o, example: 'unmix_swav_imagenet.ts' },
  });
  const result = await trainer.run();
  if (result.interrupted) process.exit(130);
  console.log(`done: ${result.history.filter((r) => r.epoch > 0).length} epochs; results in ${o.resultsDir}`);
});
