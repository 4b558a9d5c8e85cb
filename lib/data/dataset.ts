// What every dataset reader returns, so loaders and pipelines do not care where images came from.
import { Tensor } from '../tensor';

export type DatasetFormat = 'cifar-10-binary' | 'cifar-100-binary' | 'image-folder' | 'synthetic';

/** Images held as one uint8 tensor: every image has the same size (CIFAR, synthetic, small folders). */
export interface TensorImageSet {
  kind: 'tensor';
  format: DatasetFormat;
  split: string;
  /** uint8 [N, 3, H, W] */
  images: Tensor;
  /** int64 [N], on the same device as `images` */
  labels: Tensor;
  classes: string[];
}

/** Images kept encoded (JPEG/PNG bytes) and decoded per batch: folders of images of any size. */
export interface EncodedImageSet {
  kind: 'encoded';
  format: 'image-folder';
  split: string;
  length: number;
  /** class index of each image */
  labels: Int32Array;
  classes: string[];
  /** where image i came from (file path or tar member), for error messages */
  source(i: number): string;
  /** the encoded bytes of image i */
  read(i: number): Promise<Buffer>;
}

export type ImageSet = TensorImageSet | EncodedImageSet;

export function imageCount(set: ImageSet): number {
  return set.kind === 'tensor' ? set.images.shape[0] : set.length;
}
