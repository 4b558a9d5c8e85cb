// The MoCo demo's kNN monitor (spec §2.5) as a trainer `evaluate` hook: the method in eval mode, a bank
// of the training images under the test transform, weighted kNN (k, t) on the test images, top-1 in
// percent; the method is back in train mode afterwards.
import type { Tensor } from '../tensor';
import type { ImageSet } from '../data/dataset';
import { imageCount } from '../data/dataset';
import { Loader } from '../data/loader';
import type { Pipeline } from '../data/pipeline';
import type { SslMethod } from '../ssl/method';
import * as is from '../validate';
import { buildFeatureBank, knnAccuracy } from './knn';

export interface KnnMonitorOptions {
  batchSize: number;
  pipeline: Pipeline;
  k: number;
  t: number;
  features: 'projection' | 'backbone';
  /** the images are cast to this dtype before embedding (default float32; 'float64' for a float64 method) */
  inputDtype?: 'float32' | 'float64';
}

export function knnMonitor(
  method: SslMethod,
  data: { train: ImageSet; test: ImageSet; classes: number },
  o: KnnMonitorOptions,
): () => Promise<number> {
  const bank = imageCount(data.train);
  is.intInRange('knnMonitor', 'k', o.k, 1, bank, `the bank holds the ${bank} training images`);
  is.positive('knnMonitor', 't', o.t);
  is.positiveInt('knnMonitor', 'batchSize', o.batchSize);
  is.oneOf('knnMonitor', 'features', o.features, ['projection', 'backbone']);
  if (o.inputDtype !== undefined) is.oneOf('knnMonitor', 'inputDtype', o.inputDtype, ['float32', 'float64']);
  const memory = new Loader(data.train, { batchSize: o.batchSize, pipeline: o.pipeline });
  const test = new Loader(data.test, { batchSize: o.batchSize, pipeline: o.pipeline });
  return async (): Promise<number> => {
    method.eval();
    try {
      // (embed runs inside the kNN code's scopes, which free the cast copy)
      const embed = (x: Tensor) => method.embed(o.inputDtype === 'float64' ? x.to('float64') : x, o.features);
      const features = await buildFeatureBank(memory.labelled(), embed);
      try {
        const { acc1 } = await knnAccuracy(test.labelled(), embed, features, { classes: data.classes, k: o.k, t: o.t });
        return acc1;
      } finally {
        features.features.dispose();
        features.labels.dispose();
      }
    } finally {
      method.train();
    }
  };
}
