// One training step of a CIFAR-stem ResNet-18 (3×3/1 conv1, no max pool, plain BN, 10 classes):
// forward, cross entropy, backward, SGD(0.1, momentum 0.9, wd 5e-4) step. The Python twin
// (bench/resnet18_step.py) is the reference demo's ModelBase on torchvision's resnet18.
import * as u from '../../lib';
import {
  BenchCase,
  CaseResult,
  CommonOptions,
  Runs,
  alternate,
  checkSameModel,
  disposeOptimizer,
  intArg,
  summarize,
  timeMs,
  withTwin,
} from './harness';

export interface ResnetStepOptions {
  batch: number;
  /** steps per timed repeat (the figure is per step) */
  steps: number;
  channelsLast: boolean;
}

export const resnet18Step: BenchCase<ResnetStepOptions> = {
  name: 'resnet18-step',
  summary: 'CIFAR-stem ResNet-18: forward + backward + SGD step on 32×32 images',
  options: (cmd) =>
    cmd
      .option('--batch <n>', 'images per step', intArg(1))
      .option('--steps <n>', 'steps per timed repeat', intArg(1))
      .option('--channels-last', 'both sides in channels_last (NHWC) memory format'),
  defaults: (quick, device) =>
    quick
      ? { batch: 4, steps: 1, channelsLast: false, warmup: 1, repeats: 2 }
      : {
          batch: device === 'cpu' ? 32 : 256,
          steps: device === 'cpu' ? 2 : 10,
          channelsLast: false,
          warmup: 1,
          repeats: 5,
        },
  async run(common: CommonOptions, o: ResnetStepOptions & Runs): Promise<CaseResult> {
    const { device } = common;
    const config = {
      device,
      threads: common.threads,
      batch: o.batch,
      steps: o.steps,
      channelsLast: o.channelsLast,
      classes: 10,
    };
    return withTwin('resnet18_step.py', config, (twin) =>
      u.scope(async () => {
        const net = u.resnet18({ stem: 'cifar', numClasses: 10, channelsLast: o.channelsLast, device });
        const opt = new u.SGD(net.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
        try {
          checkSameModel('ResNet-18', net.numParameters(), twin.info.parameters);
          u.manualSeed(0);
          const x = u.randn([o.batch, 3, 32, 32], { device });
          const y = u.randint(0, 10, [o.batch], { device });
          const steps = () => {
            for (let s = 0; s < o.steps; s++) {
              u.scope(() => {
                const loss = u.crossEntropy(net.forward(x), y);
                opt.zeroGrad();
                loss.backward();
                opt.step();
              });
            }
          };
          const samples = await alternate(twin, async () => ({ ms: (await timeMs(device, steps)) / o.steps }), o);
          return {
            ...summarize('resnet18-step', `one training step, batch ${o.batch}`, common, o, samples, twin, config),
            parameters: net.numParameters(),
          };
        } finally {
          net.zeroGrad();
          disposeOptimizer(opt);
          net.dispose();
        }
      }),
    );
  },
};
