// Checks of a run's flags made before any work (the model built, the data decoded, an epoch trained):
// the flags alone (MoCo's queue against the keys per step), then the flags against the opened data
// (a batch and the kNN bank need that many training images). Each error names the flags.
import type { ImageSet } from '../data/dataset';
import { imageCount } from '../data/dataset';

const positive = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;

/** MoCo CIFAR/ImageNet: K a multiple of the keys queued per step, the batch a multiple of the BN splits. */
export function checkMoCoFlags(o: { mocoK: number; batchSize: number; bnSplits: number; symmetric: boolean }): void {
  for (const [flag, v] of [
    ['--moco-k', o.mocoK],
    ['--batch-size', o.batchSize],
    ['--bn-splits', o.bnSplits],
  ] as const) {
    if (!positive(v)) throw new Error(`${flag} must be a positive integer, got ${v}`);
  }
  const keys = o.batchSize * (o.symmetric ? 2 : 1);
  if (o.mocoK % keys !== 0) {
    const why = o.symmetric ? `--batch-size ${o.batchSize} × 2 views, symmetric` : `--batch-size ${o.batchSize}`;
    const near = Math.max(keys, Math.round(o.mocoK / keys) * keys);
    throw new Error(
      `--moco-k ${o.mocoK} must be a multiple of the keys queued per step (${keys} = ${why}); e.g. --moco-k ${near}`,
    );
  }
  if (o.batchSize % o.bnSplits !== 0)
    throw new Error(
      `--batch-size ${o.batchSize} must be a multiple of --bn-splits ${o.bnSplits} (SplitBatchNorm splits each batch)`,
    );
}

/** Flags against the data: a full training batch (the last partial one is dropped), and k neighbours in the kNN bank. */
export function checkDataFlags(
  data: { train: ImageSet; test: ImageSet },
  o: { batchSize?: number; batchFlag?: string; knn?: { k: number; flag?: string } | null },
): void {
  const n = imageCount(data.train);
  const batchFlag = o.batchFlag ?? '--batch-size';
  if (o.batchSize !== undefined && o.batchSize > n)
    throw new Error(
      `${batchFlag} ${o.batchSize} is more than the ${n} training images (the last partial batch is dropped, so no step would run); use at most ${n}`,
    );
  if (o.knn) {
    const flag = o.knn.flag ?? '--knn-k';
    if (!positive(o.knn.k)) throw new Error(`${flag} must be a positive integer, got ${o.knn.k}`);
    if (o.knn.k > n)
      throw new Error(`${flag} ${o.knn.k} is more than the ${n} training images of the kNN bank; use at most ${n}`);
  }
  if (imageCount(data.test) === 0)
    throw new Error('the test split has no images (the kNN monitor and evaluation need some)');
}
