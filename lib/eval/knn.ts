// The weighted kNN monitor of the MoCo CIFAR demo (spec §2.5; InstDisc / lemniscate.pytorch): a bank
// of L2-normalized training features, cosine top-k neighbours, weights exp(sim / t), class-sum vote.
// The caller puts the model in eval mode before and back in train mode after (the reference calls
// encoder_q.eval(), then net.train() at the next epoch); embeddings here run under noGrad.
import { noGrad } from '../autograd';
import { zeros } from '../creation';
import * as F from '../functional';
import { scope } from '../memory';
import { Tensor } from '../tensor';
import * as is from '../validate';

export interface LabelledBatch {
  /** the model's input batch */
  images: Tensor;
  /** int64 [B] class indices */
  labels: Tensor;
}

export type Batches = Iterable<LabelledBatch> | AsyncIterable<LabelledBatch>;

/** Maps an input batch to features [B, D] (e.g. images => method.embed(images, 'projection')). */
export type Embed = (images: Tensor) => Tensor;

export interface FeatureBank {
  /** [D, N], each column L2-normalized */
  features: Tensor;
  /** int64 [N], on the features' device */
  labels: Tensor;
}

export interface KnnOptions {
  /** number of classes */
  classes: number;
  /** neighbours (reference: 200) */
  k?: number;
  /** temperature of the weights exp(sim / t) (reference: 0.1) */
  t?: number;
  /** queries per similarity matrix: memory is chunkSize × N (default 256) */
  chunkSize?: number;
}

/**
 * Embeds every batch (under noGrad), normalizes and stacks the features into a bank [D, N]. The bank
 * belongs to the caller's scope (or is freed by dispose()).
 */
export async function buildFeatureBank(batches: Batches, embed: Embed): Promise<FeatureBank> {
  const features: Tensor[] = [];
  const labels: Tensor[] = [];
  try {
    for await (const batch of batches) {
      const f = embedNormalized(embed, batch.images);
      features.push(f);
      labels.push(noGrad(() => batch.labels.to({ device: f.device, dtype: 'int64', copy: true })));
    }
    if (!features.length) throw new Error('buildFeatureBank: no batches');
    return noGrad(() => scope(() => ({ features: F.cat(features).t().contiguous(), labels: F.cat(labels) })));
  } finally {
    for (const t of [...features, ...labels]) t.dispose();
  }
}

/**
 * The class scores [B, classes] of the reference's knn_predict: top-k cosine neighbours of each
 * (normalized) query in the bank, each adding exp(sim / t) to its label's score.
 */
export function knnScores(
  features: Tensor,
  bank: Tensor,
  bankLabels: Tensor,
  classes: number,
  k = 200,
  t = 0.1,
): Tensor {
  checkKnn(features, bank, bankLabels, classes, k, t);
  return noGrad(() =>
    scope(() => {
      // An out-of-range label would make scatter fail (on CUDA with a device-side assert).
      const range = F.stack([bankLabels.min(), bankLabels.max()]).data();
      if (Number(range[0]) < 0 || Number(range[1]) >= classes) {
        throw new RangeError(`knnPredict: bank labels must be in [0, ${classes}), got [${range[0]}, ${range[1]}]`);
      }
      const b = features.shape[0];
      const sim = F.mm(features, bank); // [B, N]
      const { values, indices } = sim.topk(k, -1);
      const simLabels = bankLabels.expand(b, -1).gather(-1, indices); // [B, k]
      const weights = values.div(t).exp();
      const oneHot = zeros([b * k, classes], { dtype: features.dtype, device: features.device }).scatter(
        -1,
        simLabels.view(-1, 1),
        1.0,
      );
      return oneHot.view(b, -1, classes).mul(weights.unsqueeze(-1)).sum(1);
    }),
  );
}

/** Classes by descending score [B, classes] (column 0 is the prediction), as knn_predict returns. */
export function knnPredict(
  features: Tensor,
  bank: Tensor,
  bankLabels: Tensor,
  classes: number,
  k = 200,
  t = 0.1,
): Tensor {
  return scope(() => knnScores(features, bank, bankLabels, classes, k, t).argsort(-1, { descending: true }));
}

export interface KnnAccuracy {
  /** top-1 accuracy in percent (the reference's test_acc@1) */
  acc1: number;
  /** top-5 accuracy in percent (top-min(5, classes)) */
  acc5: number;
  total: number;
}

/** kNN accuracy over test batches against a bank; queries go in chunks so memory stays bounded. */
export async function knnAccuracy(
  batches: Batches,
  embed: Embed,
  bank: FeatureBank,
  options: KnnOptions,
): Promise<KnnAccuracy> {
  const { classes, k = 200, t = 0.1, chunkSize = 256 } = options;
  is.positiveInt('knnAccuracy', 'chunkSize', chunkSize);
  const top = Math.min(5, classes);
  let correct1 = 0;
  let correct5 = 0;
  let total = 0;
  for await (const batch of batches) {
    const [c1, c5] = scope(() => {
      const features = embedNormalized(embed, batch.images);
      const labels = batch.labels.to({ device: features.device, dtype: 'int64', copy: true });
      const counts = [0, 0];
      for (let start = 0; start < features.shape[0]; start += chunkSize) {
        scope(() => {
          const n = Math.min(chunkSize, features.shape[0] - start);
          const ranking = knnPredict(features.narrow(0, start, n), bank.features, bank.labels, classes, k, t);
          const hits = ranking
            .narrow(1, 0, top)
            .eq(labels.narrow(0, start, n).unsqueeze(1))
            .double(); // [n, top]
          const both = F.stack([hits.select(1, 0).sum(), hits.sum()]).data();
          counts[0] += Number(both[0]);
          counts[1] += Number(both[1]);
        });
      }
      return counts;
    });
    correct1 += c1;
    correct5 += c5;
    total += batch.images.shape[0];
  }
  if (!total) throw new Error('knnAccuracy: no test batches');
  return { acc1: (100 * correct1) / total, acc5: (100 * correct5) / total, total };
}

function embedNormalized(embed: Embed, images: Tensor): Tensor {
  return noGrad(() =>
    scope(() => {
      const f = embed(images);
      if (f.ndim !== 2) throw new Error(`kNN: embed must return features [B, D], got shape [${f.shape.join(', ')}]`);
      return F.normalize(f, { dim: 1 });
    }),
  );
}

function checkKnn(features: Tensor, bank: Tensor, bankLabels: Tensor, classes: number, k: number, t: number): void {
  if (features.ndim !== 2 || bank.ndim !== 2 || features.shape[1] !== bank.shape[0]) {
    throw new Error(
      `knnPredict: expected features [B, D] and a bank [D, N], got [${features.shape.join(', ')}] and [${bank.shape.join(', ')}]`,
    );
  }
  if (bankLabels.ndim !== 1 || bankLabels.shape[0] !== bank.shape[1]) {
    throw new Error(`knnPredict: expected ${bank.shape[1]} bank labels, got shape [${bankLabels.shape.join(', ')}]`);
  }
  is.intInRange('knnPredict', 'k', k, 1, bank.shape[1], 'the bank size');
  is.positiveInt('knnPredict', 'classes', classes);
  is.positive('knnPredict', 't', t);
}
