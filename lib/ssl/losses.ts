// The methods' losses, each as its reference computes it (the order of operations is kept, since
// tests compare against PyTorch bit for bit or tightly).
import { arange, zeros } from '../creation';
import { call } from '../dispatch';
import * as F from '../functional';
import { scope } from '../memory';
import { Device, Tensor } from '../tensor';

/** MoCo's InfoNCE: cross entropy of [q·k, negatives] / T with the positive at index 0 (q, k normalized; negatives = q·queue). */
export function infoNce(q: Tensor, key: Tensor, negatives: Tensor, temperature: number): Tensor {
  const logits = F.cat([q.mul(key).sum(1, { keepdim: true }), negatives], 1).div(temperature);
  return F.crossEntropy(logits, zeros([q.shape[0]], { dtype: 'int64', device: q.device }));
}

/**
 * NT-Xent over z = [z1; z2] (2N rows): −mean_i log(exp(s_i,pos)/Σ_{j≠i} exp(s_ij)), s = cos/T. The
 * same value as solo-learn's simclr_loss_func, computed as a cross entropy (log-sum-exp) for stability.
 */
export function ntXent(z1: Tensor, z2: Tensor, temperature: number): Tensor {
  return scope(() => {
    const n = z1.shape[0];
    const z = F.normalize(F.cat([z1, z2]), { dim: 1 });
    const self = arange(0, 2 * n, 1, { dtype: 'int64', device: z.device as Device });
    const logits = z.mm(z.t()).div(temperature).indexPut_([self, self], -Infinity);
    const positive = self.add(n).remainder(2 * n);
    return F.crossEntropy(logits, positive);
  });
}

/** SimCLR's mixed term: anchors against candidates `z2` (positive at the same index), cross entropy at T. */
export function crossViewInfoNce(anchors: Tensor, z2: Tensor, temperature: number): Tensor {
  return scope(() => {
    const logits = F.normalize(anchors, { dim: 1 })
      .mm(F.normalize(z2, { dim: 1 }).t())
      .div(temperature);
    return F.crossEntropy(logits, arange(0, anchors.shape[0], 1, { dtype: 'int64', device: anchors.device as Device }));
  });
}

/**
 * NT-Xent under N ranks (solo-learn's simclr_loss_func with gathered embeddings): this rank's 2n
 * anchors against every rank's embeddings of both views (`all1`, `all2`: [W·n, D], rank order, from
 * an all-gather that passes gradients), the positive the other view of the same image, itself left
 * out. Each rank's loss is the mean over its anchors; averaged over the ranks (DDP) it is the
 * one-process NT-Xent of the whole batch.
 */
export function ntXentGathered(
  z1: Tensor,
  z2: Tensor,
  all1: Tensor,
  all2: Tensor,
  rank: number,
  temperature: number,
): Tensor {
  return scope(() => {
    const n = z1.shape[0];
    const total = all1.shape[0];
    const device = z1.device as Device;
    const anchors = F.normalize(F.cat([z1, z2]), { dim: 1 });
    const candidates = F.normalize(F.cat([all1, all2]), { dim: 1 });
    const own1 = arange(rank * n, rank * n + n, 1, { dtype: 'int64', device });
    const own2 = own1.add(total);
    const rows = arange(0, 2 * n, 1, { dtype: 'int64', device });
    const logits = anchors
      .mm(candidates.t())
      .div(temperature)
      .indexPut_([rows, F.cat([own1, own2])], -Infinity);
    return F.crossEntropy(logits, F.cat([own2, own1]));
  });
}

/** crossViewInfoNce under N ranks: this rank's anchors against every rank's `all2` ([W·n, D], rank order). */
export function crossViewInfoNceGathered(anchors: Tensor, all2: Tensor, rank: number, temperature: number): Tensor {
  return scope(() => {
    const n = anchors.shape[0];
    const logits = F.normalize(anchors, { dim: 1 })
      .mm(F.normalize(all2, { dim: 1 }).t())
      .div(temperature);
    return F.crossEntropy(
      logits,
      arange(rank * n, rank * n + n, 1, { dtype: 'int64', device: anchors.device as Device }),
    );
  });
}

/** solo-learn's byol_loss_func (the normalized MSE): 2 − 2·mean cos(p, z), z detached. */
export function byolLoss(p: Tensor, z: Tensor): Tensor {
  return scope(() => {
    const cos = call('cosine_similarity', [p, z.detach(), -1, 1e-8]) as Tensor;
    return cos.mean().mul(-2).add(2);
  });
}

/**
 * SwAV's swapped prediction for one assigned crop: −Σ_v mean(q · log softmax(scores_v / T)) over
 * the crops v other than `assigned`, divided by (crops − 1). 'old' is the CIFAR file's log(softmax).
 */
export function swappedPrediction(
  codes: Tensor,
  scores: Tensor[],
  assigned: number,
  temperature: number,
  sinkhorn: 'old' | 'new',
): Tensor {
  let subloss: Tensor | null = null;
  for (const [v, s] of scores.entries()) {
    if (v === assigned) continue;
    const x = s.div(temperature);
    const logP = sinkhorn === 'old' ? x.softmax(1).log() : x.logSoftmax(1);
    const term = codes.mul(logP).sum(1).mean();
    subloss = subloss ? subloss.sub(term) : term.neg();
  }
  return subloss!.div(scores.length - 1);
}
