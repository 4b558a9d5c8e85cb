// SwAV + Un-Mix on ImageNet-style folders, as the reference's UnMix_SwAV/for_ImageNet/main_swav_unmix.py
// (spec §4.2): ResNet-50, head 2048→2048→BN→ReLU→128, 3000 prototypes, new Sinkhorn, multi-crop
// 2×224 + 6×96 with crops mixed in pairs, queue 3840 from epoch 15, LARC, warmup + cosine.
// Defaults follow unmix_swav_200ep_bs256_pretrain.sh as one process (batch 256, lr 0.6 → 0.0006).
//   npx tsx examples/unmix_swav_imagenet.ts --data /data/imagenet
//   npx tsx examples/unmix_swav_imagenet.ts --preset smoke        a few minutes on 2 CPU cores, embedded data
import { Command } from 'commander';
import * as u from '../lib';
import { Pipeline, ViewSpec, buildSwav } from '../lib';
import { addCommonOptions, applyPreset, initFromLaunch, openData, run, say } from './common';
import { addSwavOptions, checkCrops, SWAV_DEFAULTS, SwavExampleOptions, trainSwav } from './swav';

const { blurKernel, evalImagenet, IMAGENET_MEAN, SWAV_IMAGENET_STD } = u.presets;

const SMOKE: Partial<SwavExampleOptions> = {
  evalInit: true,
  arch: 'resnet18',
  width: 16,
  nmb_prototypes: 30,
  nmb_crops: [2, 2],
  size_crops: [64, 32],
  queue_length: 0,
  epochs: 8,
  batch_size: 32,
  freeze_prototypes_niters: 20,
  subset: 100,
  testSubset: 30,
  knnEvery: 1,
  knnK: 50,
  hidden_mlp: 256,
};

const program = new Command('unmix_swav_imagenet.ts').description(
  "SwAV + Un-Mix on an ImageNet-style folder (the reference's UnMix_SwAV/for_ImageNet/main_swav_unmix.py)",
);
addSwavOptions(program, SWAV_DEFAULTS.imagenet);
addCommonOptions(program, './exp/unmix_swav_imagenet');
program.setOptionValueWithSource('seed', 31, 'default');
program.parse();
let o = program.opts<SwavExampleOptions>();
if (o.preset === 'smoke') o = applyPreset(program, o, SMOKE);
if (o.dump_path) o.resultsDir = o.dump_path;

run(async () => {
  u.manualSeed(o.seed);
  checkCrops(o);
  const { worldSize } = await initFromLaunch();
  say(
    `unmix: ${o.run_swav ? 'SwAV' : 'SwAV + Un-Mix'}, ${o.arch} width ${o.width}, crops ${o.nmb_crops.map((c, i) => `${c}×${o.size_crops[i]}`).join(' + ')}, ${o.epochs} epochs, batch ${o.batch_size}${worldSize > 1 ? ` per rank × ${worldSize}` : ''}, ${o.device}`,
  );
  const method = buildSwav(o, 'imagenet', o.device, worldSize); // its checks before any data is read
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
  const crop = o.size_crops[0];
  const evalPipeline: Pipeline =
    crop < 224
      ? [
          { op: 'resize', size: Math.round((crop * 256) / 224) },
          { op: 'centerCrop', size: crop },
          ...evalImagenet().slice(2),
        ]
      : evalImagenet();
  await trainSwav('unmix_swav_imagenet.ts', o, 'imagenet', method, data, views, evalPipeline);
});
