// The augmentation recipes of the reference code (spec §2.3, §3.3, §4.1, §4.2) and of the BYOL/SimCLR
// peers (spec §7), as data. Each returns the views one image yields per training step.
import { Pipeline, ViewSpec } from './pipeline';

/** The CIFAR-10 constants every Un-Mix CIFAR script uses (also for CIFAR-100). */
export const CIFAR_MEAN: [number, number, number] = [0.4914, 0.4822, 0.4465];
export const CIFAR_STD: [number, number, number] = [0.2023, 0.1994, 0.201];
/** The SwAV CIFAR linear probe's std (it differs from pretraining's; spec §3.5). */
export const CIFAR_EVAL_STD: [number, number, number] = [0.247, 0.2435, 0.2616];
export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];
/** SwAV's ImageNet std (spec §4.2). */
export const SWAV_IMAGENET_STD: [number, number, number] = [0.228, 0.224, 0.225];

type Stats = { mean?: [number, number, number]; std?: [number, number, number] };
const norm = (s: Stats, mean: [number, number, number], std: [number, number, number]) => ({
  op: 'normalize' as const,
  mean: s.mean ?? mean,
  std: s.std ?? std,
});

/** MoCo CIFAR demo (spec §2.3): RRC(32) → flip → jitter(0.4,0.4,0.4,0.1) p 0.8 → gray 0.2 → normalize; two views. */
export function mocoCifar(o: Stats & { size?: number } = {}): ViewSpec[] {
  const pipeline: Pipeline = [
    { op: 'randomResizedCrop', size: o.size ?? 32 },
    { op: 'horizontalFlip', p: 0.5 },
    { op: 'colorJitter', brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 },
    { op: 'grayscale', p: 0.2 },
    norm(o, CIFAR_MEAN, CIFAR_STD),
  ];
  return [{ pipeline, count: 2 }];
}

/** SwAV CIFAR (spec §3.3): as the MoCo demo but RRC scale (0.14, 1); two crops. */
export function swavCifar(o: Stats & { size?: number } = {}): ViewSpec[] {
  const [view] = mocoCifar(o);
  const pipeline = view.pipeline.map((s) =>
    s.op === 'randomResizedCrop' ? { ...s, scale: [0.14, 1] as [number, number] } : s,
  );
  return [{ pipeline, count: 2 }];
}

/** MoCo v1 ImageNet (spec §4.1): RRC(224, 0.2–1), gray 0.2, jitter(0.4,0.4,0.4,0.4) always, flip. */
export function mocoV1Imagenet(o: Stats & { size?: number } = {}): ViewSpec[] {
  return [
    {
      count: 2,
      pipeline: [
        { op: 'randomResizedCrop', size: o.size ?? 224, scale: [0.2, 1] },
        { op: 'horizontalFlip', p: 0.5 },
        { op: 'grayscale', p: 0.2 },
        { op: 'colorJitter', brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.4, p: 1 },
        norm(o, IMAGENET_MEAN, IMAGENET_STD),
      ],
    },
  ];
}

/**
 * MoCo v2 ImageNet, "aug-plus" (spec §4.1): RRC(224, 0.2–1), jitter(0.4,0.4,0.4,0.1) p 0.8, gray 0.2,
 * Gaussian blur σ ∈ [0.1, 2] p 0.5, flip. The reference blurs with PIL's GaussianBlur(radius=σ); we use
 * torchvision's Gaussian kernel of size 23 (≈ 10% of 224, SimCLR's choice) with the same σ range.
 */
export function mocoV2Imagenet(o: Stats & { size?: number } = {}): ViewSpec[] {
  const size = o.size ?? 224;
  return [
    {
      count: 2,
      pipeline: [
        { op: 'randomResizedCrop', size, scale: [0.2, 1] },
        { op: 'horizontalFlip', p: 0.5 },
        { op: 'colorJitter', brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 },
        { op: 'grayscale', p: 0.2 },
        { op: 'gaussianBlur', kernelSize: blurKernel(size), sigma: [0.1, 2], p: 0.5 },
        norm(o, IMAGENET_MEAN, IMAGENET_STD),
      ],
    },
  ];
}

/** An odd kernel of about 10% of the crop, as SimCLR (23 for 224, 9 for 96), at least 3. */
export function blurKernel(size: number): number {
  const k = Math.max(3, Math.floor(size / 10));
  return k % 2 ? k : k + 1;
}

/** SwAV ImageNet multi-crop (spec §4.2): 2×224 (scale 0.14–1) + 6×96 (0.05–0.14), jitter 0.8/0.2 p 0.8, gray 0.2, blur p 0.5. */
export function swavImagenet(
  o: Stats & { largeCrops?: number; smallCrops?: number; largeSize?: number; smallSize?: number } = {},
): ViewSpec[] {
  const crop = (size: number, scale: [number, number], kernelSize: number): Pipeline => [
    { op: 'randomResizedCrop', size, scale },
    { op: 'horizontalFlip', p: 0.5 },
    { op: 'colorJitter', brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2, p: 0.8 },
    { op: 'grayscale', p: 0.2 },
    { op: 'gaussianBlur', kernelSize, sigma: [0.1, 2], p: 0.5 },
    norm(o, IMAGENET_MEAN, SWAV_IMAGENET_STD),
  ];
  return [
    { count: o.largeCrops ?? 2, pipeline: crop(o.largeSize ?? 224, [0.14, 1], blurKernel(o.largeSize ?? 224)) },
    { count: o.smallCrops ?? 6, pipeline: crop(o.smallSize ?? 96, [0.05, 0.14], blurKernel(o.smallSize ?? 96)) },
  ];
}

/**
 * BYOL's asymmetric views (spec §7, solo-learn asymmetric.yaml): jitter(0.4,0.4,0.2,0.1) p 0.8, gray 0.2,
 * flip; view 1 blurred always (ImageNet) / never (CIFAR), view 2 blurred with p 0.1 (ImageNet) and
 * solarized with p 0.2.
 */
export function byol(o: Stats & { size?: number; dataset?: 'cifar' | 'imagenet' } = {}): ViewSpec[] {
  const imagenet = o.dataset === 'imagenet';
  const size = o.size ?? (imagenet ? 224 : 32);
  const view = (blur: number, solarize: number): Pipeline => [
    { op: 'randomResizedCrop', size, scale: [0.08, 1] },
    { op: 'horizontalFlip', p: 0.5 },
    { op: 'colorJitter', brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1, p: 0.8 },
    { op: 'grayscale', p: 0.2 },
    ...(imagenet && blur > 0
      ? [{ op: 'gaussianBlur' as const, kernelSize: 23, sigma: [0.1, 2] as [number, number], p: blur }]
      : []),
    ...(solarize > 0 ? [{ op: 'solarize' as const, threshold: 0.5, p: solarize }] : []),
    imagenet ? norm(o, IMAGENET_MEAN, IMAGENET_STD) : norm(o, CIFAR_MEAN, CIFAR_STD),
  ];
  return [
    { count: 1, pipeline: view(1.0, 0) },
    { count: 1, pipeline: view(0.1, 0.2) },
  ];
}

/** SimCLR (spec §7, solo-learn symmetric.yaml): RRC(0.08–1), jitter(0.8,0.8,0.8,0.2) p 0.8, gray 0.2, flip; blur p 0.5 on ImageNet only. */
export function simclr(o: Stats & { size?: number; dataset?: 'cifar' | 'imagenet' } = {}): ViewSpec[] {
  const imagenet = o.dataset === 'imagenet';
  const pipeline: Pipeline = [
    { op: 'randomResizedCrop', size: o.size ?? (imagenet ? 224 : 32), scale: [0.08, 1] },
    { op: 'horizontalFlip', p: 0.5 },
    { op: 'colorJitter', brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2, p: 0.8 },
    { op: 'grayscale', p: 0.2 },
    ...(imagenet ? [{ op: 'gaussianBlur' as const, kernelSize: 23, sigma: [0.1, 2] as [number, number], p: 0.5 }] : []),
    imagenet ? norm(o, IMAGENET_MEAN, IMAGENET_STD) : norm(o, CIFAR_MEAN, CIFAR_STD),
  ];
  return [{ pipeline, count: 2 }];
}

/** No augmentation: ToTensor + Normalize (the kNN bank and the test set; spec §2.3). */
export function evalCifar(o: Stats = {}): Pipeline {
  return [norm(o, CIFAR_MEAN, CIFAR_STD)];
}

/** ImageNet evaluation: Resize(256) → CenterCrop(224) → Normalize. */
export function evalImagenet(o: Stats = {}): Pipeline {
  return [{ op: 'resize', size: 256 }, { op: 'centerCrop', size: 224 }, norm(o, IMAGENET_MEAN, IMAGENET_STD)];
}

/** Linear-probe training views: RRC + flip + normalize (spec §3.5, §4.1). */
export function linearTrain(o: Stats & { size?: number } = {}): Pipeline {
  return [
    { op: 'randomResizedCrop', size: o.size ?? 32 },
    { op: 'horizontalFlip', p: 0.5 },
    norm(o, CIFAR_MEAN, CIFAR_STD),
  ];
}

export const PRESETS = { mocoCifar, swavCifar, mocoV1Imagenet, mocoV2Imagenet, swavImagenet, byol, simclr } as const;
export type PresetName = keyof typeof PRESETS;
