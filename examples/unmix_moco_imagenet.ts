// MoCo v1/v2 + Un-Mix on ImageNet-style folders, as the reference's UnMix_MoCo/for_ImageNet/
// main_moco_unmix.py (spec §4.1): ResNet-50, K 65536, m 0.999, T 0.07 (v1) or --mlp --moco-t 0.2
// --aug-plus --cos (v2), SGD 0.03 / 0.9 / 1e-4, batch 256, 200 epochs, asymmetric loss, clean keys queued.
// One process: the reference's 8-GPU ShuffleBN is emulated by shuffling the key batch (spec §2.2); under
// `npx unmix launch --nproc-per-node N` it is the reference's: keys gathered, ShuffleBN across the ranks.
//   npx tsx examples/unmix_moco_imagenet.ts --data /data/imagenet --mlp --moco-t 0.2 --aug-plus --cos --unmix_prob 0.5
//   npx tsx examples/unmix_moco_imagenet.ts --preset smoke        a few minutes on 2 CPU cores, embedded data
import { Command, Option } from 'commander';
import * as u from '../lib';
import { Loader, checkDataFlags, checkMoCoFlags, buildMoCoImagenet, Trainer, knnMonitor } from '../lib';
import {
  addCommonOptions,
  applyPreset,
  commonTrainerOptions,
  initFromLaunch,
  mocoRankBatch,
  normalization,
  openData,
  parse,
  renormalize,
  run,
  say,
  speedOptions,
} from './common';
import { MoCoImagenetOptions as Options } from './moco_imagenet';

const { evalImagenet, IMAGENET_MEAN, IMAGENET_STD, mocoV1Imagenet, mocoV2Imagenet } = u.presets;

const SMOKE: Partial<Options> = {
  evalInit: true,
  arch: 'resnet18',
  width: 16,
  epochs: 8,
  batchSize: 32,
  mocoK: 1024,
  crop: 64,
  subset: 100,
  testSubset: 30,
  knnEvery: 1,
  knnK: 50,
  lr: 0.03,
};

const program = new Command('unmix_moco_imagenet.ts')
  .description("MoCo v1/v2 + Un-Mix on an ImageNet-style folder (the reference's main_moco_unmix.py)")
  .addOption(
    new Option('-a, --arch <arch>', 'backbone').choices(['resnet18', 'resnet34', 'resnet50']).default('resnet50'),
  )
  .option('--width <n>', 'base width of the ResNet (64 = the reference)', parse.int, 64)
  .option('--epochs <n>', 'epochs', parse.int, 200)
  .option(
    '-b, --batch-size <n>',
    "images per step over all ranks, as the reference's total over 8 GPUs (under `unmix launch`, each rank takes batch/N)",
    parse.int,
    256,
  )
  .option('--lr <lr>', 'initial learning rate', parse.num, 0.03)
  .option('--schedule <epochs>', 'lr ×0.1 at these epochs (without --cos)', parse.list, [120, 160])
  .option('--momentum <m>', 'SGD momentum', parse.num, 0.9)
  .option('--wd <wd>', 'weight decay', parse.num, 1e-4)
  .option('--moco-dim <n>', 'feature dimension', parse.int, 128)
  .option('--moco-k <n>', 'queue size', parse.int, 65536)
  .option('--moco-m <m>', 'key-encoder momentum', parse.num, 0.999)
  .option('--moco-t <t>', 'softmax temperature (also of the mixed logits, as the reference code does)', parse.num, 0.07)
  .option('--moco-tm <t>', 'accepted for compatibility: the reference stores it and never uses it', parse.num, 0.07)
  .option('--mlp', 'MoCo v2 MLP head', false)
  .option('--aug-plus', 'MoCo v2 augmentation (blur, weaker jitter)', false)
  .option('--cos', 'cosine schedule', false)
  .option('--beta <b>', 'λ ~ Beta(beta, beta)', parse.num, 1.0)
  .option(
    '--unmix_prob <p>',
    'probability of the global mixture (the reference default 0: region only; run.sh uses 0.5)',
    parse.num,
    0.0,
  )
  .option('--no-unmix', 'plain MoCo')
  .option('--bn-splits <n>', 'SplitBatchNorm splits (8 emulates 8 GPUs × 32 images)', parse.int, 1)
  .option('--crop <n>', 'training crop size', parse.int, 224)
  .option('--knn-every <n>', 'kNN monitor on the projection every n epochs (0: off, as the reference)', parse.int, 0)
  .option('--knn-k <k>', 'kNN neighbours', parse.int, 200)
  .addOption(speedOptions.channelsLast())
  .addOption(speedOptions.amp())
  .addOption(speedOptions.foreach());
addCommonOptions(program, './moco_imagenet');
program.parse();
let o = program.opts<Options>();
if (o.preset === 'smoke') o = applyPreset(program, o, SMOKE);

run(async () => {
  u.manualSeed(o.seed);
  const ranks = await initFromLaunch();
  say(
    `unmix: MoCo ${o.mlp ? 'v2' : 'v1'}${o.unmix ? ' + Un-Mix' : ''}, ${o.arch} width ${o.width}, ${o.epochs} epochs, batch ${o.batchSize}${ranks.worldSize > 1 ? ` (${ranks.worldSize} ranks)` : ''}, crops ${o.crop}, ${o.device}`,
  );
  checkMoCoFlags({ ...o, symmetric: false }); // before anything is built or decoded; the queue takes every rank's keys
  const batchSize = mocoRankBatch(o, ranks.worldSize);
  const method = buildMoCoImagenet(o, o.device, ranks);
  const data = await openData(o);
  checkDataFlags(data, { batchSize: o.batchSize, knn: o.knnEvery > 0 ? { k: o.knnK } : null });
  const stats = await normalization(o, data, { mean: IMAGENET_MEAN, std: IMAGENET_STD });
  const views = renormalize(o.augPlus ? mocoV2Imagenet({ size: o.crop }) : mocoV1Imagenet({ size: o.crop }), stats);
  const loader = new Loader(data.train, { batchSize, views, seed: o.seed, device: o.device });
  const optimizer = new u.SGD(method.trainableParameters(), {
    lr: o.lr,
    momentum: o.momentum,
    weightDecay: o.wd,
    foreach: o.foreach,
  });
  // main_moco.py's adjust_learning_rate: epochs from 0, cosine or step
  const lr = u.mocoLr({ lr: o.lr, epochs: o.epochs, cos: o.cos, milestones: o.schedule, firstEpoch: 0 });
  const small = o.crop < 224;
  const evalPipeline = renormalize(
    small
      ? [
          { op: 'resize' as const, size: Math.round((o.crop * 256) / 224) },
          { op: 'centerCrop' as const, size: o.crop },
          ...evalImagenet().slice(2),
        ]
      : evalImagenet(),
    stats,
  );
  const trainer = new Trainer({
    method,
    loader,
    optimizer,
    lr,
    epochs: o.epochs,
    ...commonTrainerOptions(o),
    evaluate:
      o.knnEvery > 0
        ? knnMonitor(method, data, {
            batchSize: 128,
            pipeline: evalPipeline,
            k: o.knnK,
            t: 0.1,
            features: 'projection',
          })
        : undefined,
    evaluateEvery: o.knnEvery || undefined,
    args: { ...o, example: 'unmix_moco_imagenet.ts', normalization: stats },
  });
  const result = await trainer.run();
  if (result.interrupted) process.exit(130);
  say(`done: ${result.history.filter((r) => r.epoch > 0).length} epochs; results in ${o.resultsDir}`);
});
