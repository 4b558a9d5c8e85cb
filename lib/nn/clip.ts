// torch.nn.utils.clip_grad_norm_: scales all gradients together so their joint norm is at most maxNorm.
import { noGrad } from '../autograd';
import { call } from '../dispatch';
import { full } from '../creation';
import { scope } from '../memory';
import { Tensor } from '../tensor';

/**
 * Clips the gradients of `parameters` in place and returns their total norm before clipping (a
 * 0-d tensor, as PyTorch), the `normType`-norm of the per-gradient norms (Infinity: the largest
 * |g|). Gradients are multiplied by min(1, maxNorm / (total + 1e-6)). With `errorIfNonfinite`, a
 * NaN or infinite total is an error and nothing is changed.
 */
export function clipGradNorm(
  parameters: Tensor | Tensor[],
  maxNorm: number,
  options: { normType?: number; errorIfNonfinite?: boolean } = {},
): Tensor {
  const normType = options.normType ?? 2;
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm))
    throw new TypeError(`clipGradNorm: maxNorm must be a number, got ${String(maxNorm)}`);
  // Infinity is allowed for both (no clipping; the largest |g|), so not is.number
  if (!(maxNorm >= 0)) throw new RangeError(`clipGradNorm: maxNorm must be >= 0, got ${maxNorm}`); // a negative one would flip the gradients
  if (typeof normType !== 'number' || Number.isNaN(normType))
    throw new TypeError(`clipGradNorm: normType must be a number, got ${String(normType)}`);
  const params = Array.isArray(parameters) ? parameters : [parameters];
  return noGrad(() =>
    scope(() => {
      const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (!grads.length) return full([], 0, { dtype: 'float32' }); // torch: tensor(0.)
      const norms = grads.map((g) =>
        (normType === Infinity ? g.abs().max() : g.norm(normType)).to({ device: grads[0].device }),
      );
      const total =
        normType === Infinity
          ? (call('stack', [norms]) as Tensor).max()
          : (call('stack', [norms]) as Tensor).norm(normType);
      if (options.errorIfNonfinite && !Number.isFinite(total.item() as number)) {
        throw new Error(
          `clipGradNorm: the total norm of order ${normType} of the gradients is ${total.item()}; pass errorIfNonfinite: false to clip anyway`,
        );
      }
      const coef = total.add(1e-6).reciprocal().mul_(maxNorm).clamp_(null, 1);
      for (const g of grads) g.mul_(coef.to({ device: g.device }));
      return total;
    }),
  );
}
