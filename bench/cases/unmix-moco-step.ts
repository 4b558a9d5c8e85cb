// One training iteration of the MoCo CIFAR demo with Un-Mix (spec §2.4): symmetric loss, SplitBatchNorm,
// shuffle-BN, the mixture of x1 through the query encoder in both contrastive calls, queue update,
// backward and SGD(0.06, momentum 0.9, wd 5e-4), loss read back as the training loop logs it. The
// Python twin (bench/unmix_moco_step.py) runs the reference's ModelMoCo and training-loop body.
import { Option } from 'commander';
import * as u from '../../lib';
import { Rng } from '../../lib/rng';
import { MoCo, MoCoArch, MoCoConfig } from '../../lib/ssl/moco';
import {
  BenchCase,
  CaseResult,
  CommonOptions,
  Runs,
  intArg,
  alternate,
  checkSameModel,
  disposeOptimizer,
  summarize,
  timeMs,
  withTwin,
} from './harness';

export interface MocoStepOptions {
  batch: number;
  arch: MoCoArch;
  /** channels after the stem (64: the reference) */
  width: number;
  bnSplits: number;
  mocoK: number;
  /** steps per timed repeat (the figure is per step) */
  steps: number;
  /** speed option: 1 = one forward of the mixture per step (same loss and gradients); 2 = the reference */
  mixedForwards: 1 | 2;
  /** speed option: channels_last convolutions */
  channelsLast: boolean;
  /** speed option: multi-tensor momentum update and SGD step (true), per-parameter loops as the reference (false); default: on CUDA only */
  foreach?: boolean;
  /** speed option for CUDA: the forwards under autocast in this dtype, on both sides */
  amp?: 'bfloat16';
}

export const ARCHS: MoCoArch[] = ['resnet18', 'resnet34', 'resnet50'];

export const unmixMocoStep: BenchCase<MocoStepOptions> = {
  name: 'unmix-moco-step',
  summary: 'one symmetric MoCo + Un-Mix step of the CIFAR demo (2 key and 4 query forwards, backward, SGD)',
  options: (cmd) =>
    cmd
      .option('--batch <n>', 'images per view', intArg(1))
      .addOption(new Option('--arch <arch>', 'backbone').choices(ARCHS))
      .option('--width <n>', 'channels after the stem (64: the reference)', intArg(1))
      .option('--bn-splits <n>', 'SplitBatchNorm splits', intArg(1))
      .option('--moco-k <n>', 'queue size', intArg(1))
      .option('--steps <n>', 'steps per timed repeat', intArg(1))
      .addOption(
        new Option(
          '--mixed-forwards <n>',
          'speed option: 1 forwards the mixture once per step (same gradients); 2 as the reference',
        )
          .choices(['1', '2'])
          .argParser((v) => Number(v) as 1 | 2),
      )
      .option('--channels-last', 'speed option: channels_last convolutions')
      .addOption(
        new Option(
          '--foreach <mode>',
          'speed option: momentum update and SGD step as multi-tensor kernels (on), per-parameter loops as the reference (off), or on for CUDA only (auto, the default)',
        )
          .choices(['auto', 'on', 'off'])
          .argParser((v) => ({ on: true, off: false, auto: undefined })[v as 'on' | 'off' | 'auto']),
      )
      .addOption(
        new Option(
          '--amp <dtype>',
          'speed option for CUDA: forwards under autocast in this dtype, on both sides (PyTorch: torch.autocast around the model)',
        ).choices(['bfloat16']),
      ),
  defaults: (quick, device) =>
    quick
      ? {
          batch: 16,
          arch: 'resnet18',
          width: 64,
          bnSplits: 8,
          mocoK: 4096,
          steps: 1,
          warmup: 1,
          repeats: 2,
          mixedForwards: 2,
          channelsLast: false,
        }
      : device === 'cpu'
        ? {
            batch: 64,
            arch: 'resnet18',
            width: 64,
            bnSplits: 8,
            mocoK: 4096,
            steps: 1,
            warmup: 1,
            repeats: 3,
            mixedForwards: 2,
            channelsLast: false,
          }
        : {
            batch: 512,
            arch: 'resnet18',
            width: 64,
            bnSplits: 8,
            mocoK: 4096,
            steps: 5,
            warmup: 1,
            repeats: 5,
            mixedForwards: 2,
            channelsLast: false,
          },
  async run(common: CommonOptions, o: MocoStepOptions & Runs): Promise<CaseResult> {
    const { device } = common;
    if (!ARCHS.includes(o.arch))
      throw new Error(`unmix-moco-step: --arch must be one of ${ARCHS.join(', ')}, got '${o.arch}'`);
    if (o.batch % o.bnSplits !== 0)
      throw new Error(`unmix-moco-step: --batch ${o.batch} must be a multiple of --bn-splits ${o.bnSplits}`);
    if (o.mocoK % (2 * o.batch) !== 0)
      throw new Error(
        `unmix-moco-step: --moco-k ${o.mocoK} must be a multiple of the 2 × ${o.batch} keys enqueued per step`,
      );
    const config = {
      device,
      threads: common.threads,
      batch: o.batch,
      arch: o.arch,
      width: o.width,
      bnSplits: o.bnSplits,
      K: o.mocoK,
      steps: o.steps,
      prob: 0.5,
      symmetric: true,
      ...(o.amp ? { amp: o.amp } : {}),
    };
    return withTwin('unmix_moco_step.py', config, (twin) =>
      u.scope(async () => {
        // `width` only where it differs from the reference, so a MoCo without that option still builds the
        // reference network; the parameter count below catches one that ignores it.
        const mocoConfig: MoCoConfig = {
          preset: 'cifar',
          arch: o.arch,
          bnSplits: o.bnSplits,
          K: o.mocoK,
          symmetric: true,
          device,
          width: o.width,
          mixedForwards: o.mixedForwards ?? 2,
          channelsLast: o.channelsLast ?? false,
          foreach: o.foreach,
          amp: o.amp ?? null,
        };
        const method = new MoCo(mocoConfig);
        const opt = new u.SGD(method.trainableParameters(), {
          lr: 0.06,
          momentum: 0.9,
          weightDecay: 5e-4,
          foreach: o.foreach,
        });
        try {
          const hint = o.width !== 64 ? ' (does lib/ssl/moco.ts take a width option?)' : '';
          checkSameModel(
            `MoCo models (${o.arch}, width ${o.width})`,
            method.numParameters(),
            twin.info.parameters,
            hint,
          );
          u.manualSeed(0);
          const x1 = u.randn([o.batch, 3, 32, 32], { device });
          const x2 = u.randn([o.batch, 3, 32, 32], { device });
          const rng = new Rng(0);
          let iteration = 0;
          // as the trainer's step, the loss read back as the reference's loop does (loss.item())
          const steps = () => {
            for (let s = 0; s < o.steps; s++) {
              u.scope(() => {
                const { loss } = method.trainingStep([x1, x2], {
                  iteration: iteration++,
                  epoch: 0,
                  itersPerEpoch: 1,
                  totalEpochs: 1,
                  rng,
                });
                opt.zeroGrad();
                loss.backward();
                opt.step();
                return loss.item();
              });
            }
          };
          const samples = await alternate(twin, async () => ({ ms: (await timeMs(device, steps)) / o.steps }), o);
          const speed = [
            o.mixedForwards === 1 && 'one mixed forward',
            o.channelsLast && 'channels_last',
            o.foreach === false && 'per-parameter updates',
            o.foreach === true && 'multi-tensor updates',
          ]
            .filter(Boolean)
            .join(', ');
          const both = o.amp ? `; both sides: autocast ${o.amp}` : '';
          const unit = `one training step, batch ${o.batch}, ${o.arch} width ${o.width}${speed ? ` (unmix: ${speed}; PyTorch: the reference)` : ''}${both}`;
          return {
            ...summarize('unmix-moco-step', unit, common, o, samples, twin, config),
            parameters: method.numParameters(),
          };
        } finally {
          method.zeroGrad();
          disposeOptimizer(opt);
          method.dispose();
        }
      }),
    );
  },
};
