// SwAV's Sinkhorn-Knopp codes (spec §3.4), in the two forms the Un-Mix code uses:
// - old: the CIFAR file (swav before commit 9a2dc80): Q = exp(scores/ε)ᵀ built by the caller,
//   ±inf replaced by the largest finite value (shoot_infs), scaling by r/u and c/colsum;
// - new: the ImageNet file (current upstream): exp inside, plain row/column divisions.
// Both run under no-grad and never modify their input. The all-reduce points of the distributed
// original are a hook (`allReduce`), which lib/distributed/sinkhorn.ts fills in under N ranks.
import { noGrad } from '../autograd';
import { ones } from '../creation';
import { call } from '../dispatch';
import { scope } from '../memory';
import { Device, Tensor } from '../tensor';
import { activeGroup, allReduceNow } from '../distributed/blocking';
import type { ProcessGroup } from '../distributed/group';

export interface SinkhornOptions {
  /** the world size of the distributed original: c = 1/(world·B) (old) and B = world·columns (new). Default 1 */
  worldSize?: number;
  /**
   * Called, in place, on each value the original all-reduces: the total and the row sums ('sum'), and
   * the max of the stability shift ('max'). Default: nothing (one process).
   */
  allReduce?: (t: Tensor, op: 'sum' | 'max') => void;
}

/** shoot_infs: every ±inf entry becomes the maximum of the tensor with those entries set to 0. In place. */
export function shootInfs(t: Tensor): Tensor {
  noGrad(() =>
    scope(() => {
      const mask = call('isinf', [t]) as Tensor;
      if (!mask.any().item()) return;
      const m = t.maskedFill(mask, 0).max();
      t.maskedFill_(mask, m);
    }),
  );
  return t;
}

function check(Q: Tensor, what: string, iterations: number): void {
  if (Q.ndim !== 2) throw new Error(`${what}: expected a 2-d tensor, got shape [${Q.shape.join(', ')}]`);
  if (!Q.dtype.startsWith('float')) throw new Error(`${what}: expected a floating tensor, got ${Q.dtype}`);
  if (!Number.isInteger(iterations) || iterations < 0)
    throw new RangeError(`${what}: iterations must be a non-negative integer, got ${iterations}`);
}

/**
 * The CIFAR file's distributed_sinkhorn(Q, nmb_iters). `Q` is [K, B] = exp(scores/ε)ᵀ (K prototypes,
 * B samples, queue columns first). Returns the codes [B, K], each row summing to 1, in Q's dtype
 * (the original's final `.float()` undoes AMP's half precision; in float32 training it is a no-op).
 */
export function sinkhornOld(Q: Tensor, iterations: number, options: SinkhornOptions = {}): Tensor {
  check(Q, 'sinkhornOld', iterations);
  const { worldSize = 1, allReduce = () => {} } = options;
  return noGrad(() =>
    scope(() => {
      const q = shootInfs(Q.clone());
      const total = q.sum();
      allReduce(total, 'sum');
      q.div_(total);
      const [K, B] = q.shape;
      const r = ones([K], { dtype: q.dtype, device: q.device as Device }).div(K);
      const c = ones([B], { dtype: q.dtype, device: q.device as Device }).div(worldSize * B);
      for (let it = 0; it < iterations; it++) {
        const u = q.sum(1);
        allReduce(u, 'sum');
        const scale = shootInfs(r.div(u));
        q.mul_(scale.unsqueeze(1));
        q.mul_(c.div(q.sum(0)).unsqueeze(0));
      }
      return q.div(q.sum(0, { keepdim: true })).t();
    }),
  );
}

/**
 * The current upstream distributed_sinkhorn(out): `scores` is [B, K] (queue rows first);
 * Q = exp(scores/ε)ᵀ; Q /= ΣQ; repeat: Q /= row sums, Q /= K, Q /= column sums, Q /= B; Q *= B.
 * Returns Qᵀ [B, K] (rows sum to 1).
 */
export function sinkhornNew(
  scores: Tensor,
  epsilon: number,
  iterations: number,
  options: SinkhornOptions = {},
): Tensor {
  check(scores, 'sinkhornNew', iterations);
  if (!(epsilon > 0)) throw new RangeError(`sinkhornNew: epsilon must be > 0, got ${epsilon}`);
  const { worldSize = 1, allReduce = () => {} } = options;
  return noGrad(() =>
    scope(() => {
      const q = scores.div(epsilon).exp().t();
      const B = q.shape[1] * worldSize;
      const K = q.shape[0];
      const total = q.sum();
      allReduce(total, 'sum');
      q.div_(total);
      for (let it = 0; it < iterations; it++) {
        const rows = q.sum(1, { keepdim: true });
        allReduce(rows, 'sum');
        q.div_(rows);
        q.div_(K);
        q.div_(q.sum(0, { keepdim: true }));
        q.div_(B);
      }
      q.mul_(B);
      return q.t();
    }),
  );
}

export interface CodesOptions extends SinkhornOptions {
  epsilon: number;
  iterations: number;
  variant: 'old' | 'new';
  /** old variant only: subtract the global max of scores/ε before exp (the reference's flag; default false) */
  improveNumericalStability?: boolean;
}

/** SwAV codes for prototype scores [B, K] as each file computes them (old: exp and transpose first). */
export function swavCodes(scores: Tensor, options: CodesOptions): Tensor {
  if (options.variant === 'new') return sinkhornNew(scores, options.epsilon, options.iterations, options);
  if (!(options.epsilon > 0)) throw new RangeError(`swavCodes: epsilon must be > 0, got ${options.epsilon}`);
  return noGrad(() =>
    scope(() => {
      const q = scores.div(options.epsilon);
      if (options.improveNumericalStability) {
        const m = q.max();
        options.allReduce?.(m, 'max');
        q.sub_(m);
      }
      return sinkhornOld(q.exp().t(), options.iterations, options);
    }),
  );
}

/**
 * The options that run Sinkhorn over every rank's batch, as the reference's distributed_sinkhorn:
 * the total and the row sums all-reduced (and the stability shift's max), so each rank's codes are
 * its columns of one Sinkhorn over the concatenated batch. `group` defaults to the initialized
 * default group; one rank, or none initialized: {} (one process).
 */
export function sinkhornOverRanks(group?: ProcessGroup): SinkhornOptions {
  const g = group ?? activeGroup();
  if (!g || g.worldSize === 1) return {};
  return { worldSize: g.worldSize, allReduce: (t, op) => allReduceNow(g, t, op) };
}
