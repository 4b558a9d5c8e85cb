// Per-channel mean and std of a set's pixels in [0, 1] (population std, as torchvision's Normalize
// constants), for normalising a dataset that is not CIFAR or ImageNet: from every image, or from
// `maxImages` spread evenly over the set (decoding an ImageNet-sized folder to normalise it would take hours).
import type { ImageSet } from './dataset';
import { imageCount } from './dataset';
import { ChannelStats } from './describe';
import { decodeConcurrency, decodeRgb, pool } from './decode';
import * as is from '../validate';

export type Rgb = [number, number, number];

export async function channelStats(
  set: ImageSet,
  options: { maxImages?: number } = {},
): Promise<{ mean: Rgb; std: Rgb; images: number }> {
  const n = imageCount(set);
  const max = options.maxImages ?? 10000;
  is.positiveInt('channelStats', 'maxImages', max);
  const count = Math.min(n, max);
  const pick = (k: number) => (count === n ? k : Math.floor((k * n) / count));
  const stats = new ChannelStats();
  if (set.kind === 'tensor') {
    const [, , h, w] = set.images.shape;
    for (let k = 0; k < count; k++) {
      const one = set.images.narrow(0, pick(k), 1);
      const cpu = one.to('cpu');
      stats.addPlanar(cpu.data() as Uint8Array, h * w);
      for (const t of new Set([one, cpu])) t.dispose();
    }
  } else {
    await pool(count, decodeConcurrency(), async (k) => {
      const i = pick(k);
      stats.addInterleaved((await decodeRgb(await set.read(i), set.source(i))).data);
    });
  }
  return { ...stats.result(), images: count };
}
