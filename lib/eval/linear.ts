// Linear evaluation of a frozen backbone (spec §3.5 SwAV CIFAR, §4.1 MoCo ImageNet): the backbone in
// eval mode under noGrad, a Linear classifier initialised N(0, 0.01) / bias 0, SGD with momentum, a
// per-epoch cosine or step schedule, and the best test top-1 over the epochs (what both references report).
import { noGrad } from '../autograd';
import { arange, tensor } from '../creation';
import { cat, crossEntropy } from '../functional';
import { scope } from '../memory';
import { Linear } from '../nn/layers';
import { Module } from '../nn/module';
import { cosineLr, stepLr } from '../optim/schedules';
import { SGD } from '../optim/sgd';
import { Rng } from '../rng';
import { Tensor } from '../tensor';
import * as is from '../validate';

export interface LinearProbeOptions {
  /** frozen features [B, D] of an input batch (runs under noGrad here) */
  embed: (images: Tensor) => Tensor;
  /** the module behind `embed`: put in eval mode for the probe, its mode restored after */
  backbone?: Module;
  /** training batches, fresh each epoch (augmented: RRC + flip) */
  train: (epoch: number) => AsyncIterable<{ images: Tensor; labels: Tensor }>;
  test: () => AsyncIterable<{ images: Tensor; labels: Tensor }>;
  classes: number;
  epochs: number;
  /** SwAV CIFAR: 0.3; MoCo ImageNet: 30 */
  lr: number;
  momentum?: number;
  /** SwAV CIFAR: 1e-6; MoCo ImageNet: 0 */
  weightDecay?: number;
  /** 'cosine' (CosineAnnealingLR to 0, per epoch) or step ×0.1 at `milestones` */
  schedule?: 'cosine' | 'step';
  milestones?: number[];
  onEpoch?: (record: { epoch: number; loss: number; acc1: number; best: number }) => void;
}

export interface LinearProbeResult {
  best: number;
  bestEpoch: number;
  last: number;
  history: { epoch: number; loss: number; acc1: number }[];
}

export async function linearProbe(o: LinearProbeOptions): Promise<LinearProbeResult> {
  is.positiveInt('linearProbe', 'classes', o.classes);
  is.positiveInt('linearProbe', 'epochs', o.epochs);
  is.nonNegative('linearProbe', 'lr', o.lr);
  if (o.momentum !== undefined) is.nonNegative('linearProbe', 'momentum', o.momentum);
  if (o.weightDecay !== undefined) is.nonNegative('linearProbe', 'weightDecay', o.weightDecay);
  if (o.schedule !== undefined) is.oneOf('linearProbe', 'schedule', o.schedule, ['cosine', 'step']);
  const lrAt = o.schedule === 'step' ? stepLr(o.lr, o.milestones ?? []) : cosineLr(o.lr, o.epochs);
  const wasTraining = o.backbone?.training ?? false;
  o.backbone?.eval();
  let classifier: Linear | null = null;
  let optimizer: SGD | null = null;
  const history: LinearProbeResult['history'] = [];
  let best = -1;
  let bestEpoch = 0;
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const lr = lrAt(epoch);
      let lossSum = 0;
      let seen = 0;
      for await (const batch of o.train(epoch)) {
        const features = scope(() => noGrad(() => o.embed(batch.images).flatten(1)));
        if (!classifier) {
          classifier = new Linear(features.shape[1], o.classes, { device: features.device });
          noGrad(() => {
            classifier!.weight.normal_(0, 0.01);
            classifier!.bias!.zero_();
          });
          optimizer = new SGD(classifier.parameters(), {
            lr,
            momentum: o.momentum ?? 0.9,
            weightDecay: o.weightDecay ?? 0,
          });
        }
        for (const g of optimizer!.paramGroups) g.lr = lr;
        lossSum += scope(() => {
          const loss = crossEntropy(classifier!.forward(features), batch.labels.to(features.device));
          optimizer!.zeroGrad();
          loss.backward();
          optimizer!.step();
          return (loss.item() as number) * batch.images.shape[0];
        });
        seen += batch.images.shape[0];
        features.dispose();
      }
      if (!classifier) throw new Error('linearProbe: the training batches are empty');
      const acc1 = await accuracy(o, classifier);
      if (acc1 > best) [best, bestEpoch] = [acc1, epoch + 1];
      const record = { epoch: epoch + 1, loss: lossSum / Math.max(1, seen), acc1 };
      history.push(record);
      o.onEpoch?.({ ...record, best });
    }
    return { best, bestEpoch, last: history[history.length - 1].acc1, history };
  } finally {
    classifier?.dispose();
    optimizer?.momentumBuffers.forEach((buffer) => buffer.dispose());
    if (wasTraining) o.backbone?.train();
  }
}

async function accuracy(o: LinearProbeOptions, classifier: Linear): Promise<number> {
  let correct = 0;
  let total = 0;
  for await (const batch of o.test()) {
    correct += scope(() =>
      noGrad(() => {
        const logits = classifier.forward(o.embed(batch.images).flatten(1));
        return Number(logits.argmax(1).eq(batch.labels.to(logits.device)).sum().item());
      }),
    );
    total += batch.images.shape[0];
  }
  if (!total) throw new Error('linearProbe: the test batches are empty');
  return (100 * correct) / total;
}

/** Features [N, D] and labels [N] computed once, for a probe on a frozen backbone without augmentation. */
export interface CachedFeatures {
  x: Tensor;
  y: Tensor;
}

/** Embeds every batch once under noGrad (the backbone is frozen and nothing is random), so each probe epoch is a pass over a matrix. */
export async function cacheFeatures(
  batches: AsyncIterable<{ images: Tensor; labels: Tensor }>,
  embed: (images: Tensor) => Tensor,
): Promise<CachedFeatures> {
  const feats: Tensor[] = [];
  const labels: Tensor[] = [];
  for await (const b of batches) {
    feats.push(noGrad(() => embed(b.images)));
    labels.push(b.labels.clone());
  }
  if (!feats.length) throw new Error('cacheFeatures: no batches');
  return { x: cat(feats), y: cat(labels) };
}

/**
 * Batches of cached features: in order when `shuffleStream` is null, else in the permutation of
 * Rng.derive(seed, shuffleStream) (the epoch, so each epoch has its own order). Each batch is freed
 * when the next is asked for.
 */
export async function* featureBatches(
  d: CachedFeatures,
  o: { batchSize: number; seed: number; shuffleStream: number | null },
): AsyncGenerator<{ images: Tensor; labels: Tensor }> {
  is.positiveInt('featureBatches', 'batchSize', o.batchSize);
  const n = d.x.shape[0];
  const device = d.x.device;
  const order =
    o.shuffleStream === null
      ? arange(0, n, 1, { dtype: 'int64', device })
      : tensor(Int32Array.from(Rng.derive(o.seed, o.shuffleStream).permutation(n)), { device }).to('int64');
  for (let i = 0; i < n; i += o.batchSize) {
    const idx = order.narrow(0, i, Math.min(o.batchSize, n - i));
    const batch = { images: d.x.indexSelect(0, idx), labels: d.y.indexSelect(0, idx) };
    yield batch;
    [idx, batch.images, batch.labels].forEach((t) => t.dispose());
  }
  order.dispose();
}
