// Tensor reductions: sum, mean, var/std, max/min (with indices along a dimension), topk, sort, norm,
// cumsum... Mixed into Tensor by tensor/index.ts.
import { call } from '../dispatch';
import type { DType } from '../dtype';
import { T } from './call';
import type { Tensor } from '.';
import type { ReduceOptions } from './types';

export abstract class ReductionMethods {
  sum(dim?: number | number[], options: ReduceOptions & { dtype?: DType } = {}): Tensor {
    if (dim === undefined) return T('sum', [this], { dtype: options.dtype });
    return T('sum.dim_IntList', [this, dims(dim), options.keepdim ?? false], { dtype: options.dtype });
  }
  mean(dim?: number | number[], options: ReduceOptions = {}): Tensor {
    if (dim === undefined) return T('mean', [this]);
    return T('mean.dim', [this, dims(dim), options.keepdim ?? false]);
  }
  prod(dim?: number, options: ReduceOptions = {}): Tensor {
    return dim === undefined ? T('prod', [this]) : T('prod.dim_int', [this, dim, options.keepdim ?? false]);
  }
  /** Variance; `correction` 1 (default) is the unbiased estimate, 0 the population variance. */
  var(dim?: number | number[], options: ReduceOptions & { correction?: number } = {}): Tensor {
    return T('var.correction', [this, dims(dim) ?? null], {
      correction: options.correction ?? 1,
      keepdim: options.keepdim ?? false,
    });
  }
  std(dim?: number | number[], options: ReduceOptions & { correction?: number } = {}): Tensor {
    return T('std.correction', [this, dims(dim) ?? null], {
      correction: options.correction ?? 1,
      keepdim: options.keepdim ?? false,
    });
  }
  /** max() over all elements, or { values, indices } along a dimension. */
  max(): Tensor;
  max(dim: number, options?: ReduceOptions): { values: Tensor; indices: Tensor };
  max(dim?: number, options: ReduceOptions = {}): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return T('max', [this]);
    const [values, indices] = call('max.dim', [this, dim, options.keepdim ?? false]) as Tensor[];
    return { values, indices };
  }
  min(): Tensor;
  min(dim: number, options?: ReduceOptions): { values: Tensor; indices: Tensor };
  min(dim?: number, options: ReduceOptions = {}): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return T('min', [this]);
    const [values, indices] = call('min.dim', [this, dim, options.keepdim ?? false]) as Tensor[];
    return { values, indices };
  }
  /** Maximum over `dim` (values only). */
  amax(dim: number | number[], options: ReduceOptions = {}): Tensor {
    return T('amax', [this, typeof dim === 'number' ? [dim] : dim, options.keepdim ?? false]);
  }
  amin(dim: number | number[], options: ReduceOptions = {}): Tensor {
    return T('amin', [this, typeof dim === 'number' ? [dim] : dim, options.keepdim ?? false]);
  }
  argmax(dim?: number, options: ReduceOptions = {}): Tensor {
    return T('argmax', [this, dim ?? null, options.keepdim ?? false]);
  }
  argmin(dim?: number, options: ReduceOptions = {}): Tensor {
    return T('argmin', [this, dim ?? null, options.keepdim ?? false]);
  }
  topk(
    k: number,
    dim = -1,
    options: { largest?: boolean; sorted?: boolean } = {},
  ): { values: Tensor; indices: Tensor } {
    const [values, indices] = call('topk', [this, k, dim, options.largest ?? true, options.sorted ?? true]) as Tensor[];
    return { values, indices };
  }
  sort(dim = -1, options: { descending?: boolean; stable?: boolean } = {}): { values: Tensor; indices: Tensor } {
    const [values, indices] = call('sort.stable', [this], {
      stable: options.stable ?? false,
      dim,
      descending: options.descending ?? false,
    }) as Tensor[];
    return { values, indices };
  }
  argsort(dim = -1, options: { descending?: boolean } = {}): Tensor {
    return T('argsort', [this, dim, options.descending ?? false]);
  }
  logsumexp(dim: number | number[], options: ReduceOptions = {}): Tensor {
    return T('logsumexp', [this, dims(dim), options.keepdim ?? false]);
  }
  /** p-norm over all elements or along `dim` (p = 2 by default). */
  norm(p = 2, dim?: number | number[], options: ReduceOptions = {}): Tensor {
    if (dim === undefined) return T('norm.Scalar', [this, p]);
    return T('norm.ScalarOpt_dim', [this, p, dims(dim), options.keepdim ?? false]);
  }
  cumsum(dim: number): Tensor {
    return T('cumsum', [this, dim]);
  }
  any(): Tensor {
    return T('any', [this]);
  }
  all(): Tensor {
    return T('all', [this]);
  }
}

function dims(d: number | number[] | undefined): number[] | undefined {
  return d === undefined ? undefined : Array.isArray(d) ? d : [d];
}
