// SwAV + Un-Mix on CIFAR, as the reference's UnMix_SwAV/for_CIFAR/main_swav_unmix.py run by
// script_unmix_c10.sh / c100.sh (spec §3): Bottleneck "ResNet-18" with the padded CIFAR stem, head
// 2048→512→BN→ReLU→128, 100 prototypes frozen for 5005 iterations, old Sinkhorn, LARC(0.001, no clip)
// around SGD 0.9 / wd 1e-6, per-iteration warmup + cosine 0.6 → 0.0006, batch 128, 400 epochs, seed 31.
// The flags keep the reference's names (--base_lr, --nmb_prototypes, ...), so its commands carry over.
import { Command } from 'commander';
import * as u from '../lib';
import { buildSwav } from '../lib';
import { addCommonOptions, applyPreset, initFromLaunch, openData, run, say } from './common';
import { addSwavOptions, checkCrops, SWAV_DEFAULTS, SwavExampleOptions, trainSwav } from './swav';

const { evalCifar, swavCifar } = u.presets;

const SMOKE: Partial<SwavExampleOptions> = {
  evalInit: true,
  width: 16,
  epochs: 6,
  batch_size: 128,
  nmb_prototypes: 30,
  freeze_prototypes_niters: 40,
  warmup_epochs: 1,
  subset: 500,
  testSubset: 100,
  knnEvery: 1,
};

export function swavCifarMain(name: string, resultsDir: string): void {
  const program = new Command(name).description(
    `SwAV + Un-Mix on CIFAR (the reference's UnMix_SwAV/for_CIFAR/main_swav_unmix.py via ${name.includes('100') ? 'script_unmix_c100.sh' : 'script_unmix_c10.sh'})`,
  );
  addSwavOptions(program, SWAV_DEFAULTS.cifar);
  addCommonOptions(program, resultsDir);
  program.setOptionValueWithSource('seed', 31, 'default'); // fix_random_seeds(31) in the reference
  program.parse();
  let o = program.opts<SwavExampleOptions>();
  if (o.preset === 'smoke') o = applyPreset(program, o, SMOKE);
  if (o.dump_path) o.resultsDir = o.dump_path;

  run(async () => {
    u.manualSeed(o.seed);
    checkCrops(o);
    const { worldSize } = await initFromLaunch();
    say(
      `unmix: ${name}: ${o.run_swav ? 'SwAV' : 'SwAV + Un-Mix'}, ${o.arch} (bottleneck) width ${o.width}, ${o.epochs} epochs, batch ${o.batch_size}${worldSize > 1 ? ` per rank × ${worldSize}` : ''}, ${o.device}`,
    );
    const method = buildSwav(o, 'cifar', o.device, worldSize); // its checks before any data is read
    const data = await openData(o);
    const views = o.nmb_crops.flatMap((count, i) =>
      swavCifar({ size: o.size_crops[i] }).map((v) => ({
        count,
        pipeline: v.pipeline.map((s) =>
          s.op === 'randomResizedCrop'
            ? { ...s, scale: [o.min_scale_crops[i], o.max_scale_crops[i]] as [number, number] }
            : s,
        ),
      })),
    );
    await trainSwav(name, o, 'cifar', method, data, views, evalCifar());
  });
}
