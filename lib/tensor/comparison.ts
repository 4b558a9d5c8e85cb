// Tensor comparisons and masks: eq/lt/..., logical ops, isnan, allclose, maskedFill, where.
// Mixed into Tensor by tensor/index.ts.
import { call } from '../dispatch';
import { T } from './call';
import type { Tensor } from '.';
import type { TensorOrScalar } from './types';

export abstract class ComparisonMethods {
  eq(other: TensorOrScalar): Tensor {
    return T('eq', [this, other]);
  }
  ne(other: TensorOrScalar): Tensor {
    return T('ne', [this, other]);
  }
  lt(other: TensorOrScalar): Tensor {
    return T('lt', [this, other]);
  }
  le(other: TensorOrScalar): Tensor {
    return T('le', [this, other]);
  }
  gt(other: TensorOrScalar): Tensor {
    return T('gt', [this, other]);
  }
  ge(other: TensorOrScalar): Tensor {
    return T('ge', [this, other]);
  }
  logicalNot(): Tensor {
    return T('logical_not', [this]);
  }
  logicalAnd(other: Tensor): Tensor {
    return T('logical_and', [this, other]);
  }
  logicalOr(other: Tensor): Tensor {
    return T('logical_or', [this, other]);
  }
  isnan(): Tensor {
    return T('isnan', [this]);
  }
  isfinite(): Tensor {
    return T('isfinite', [this]);
  }
  allclose(other: Tensor, rtol = 1e-5, atol = 1e-8): boolean {
    return call('allclose', [this, other, rtol, atol]) as boolean;
  }
  equal(other: Tensor): boolean {
    return call('equal', [this, other]) as boolean;
  }
  maskedFill(mask: Tensor, value: TensorOrScalar): Tensor {
    return T('masked_fill', [this, mask, value]);
  }
  maskedFill_(mask: Tensor, value: TensorOrScalar): this {
    call('masked_fill_', [this, mask, value]);
    return this;
  }
  maskedSelect(mask: Tensor): Tensor {
    return T('masked_select', [this, mask]);
  }
  /** this where `condition` holds, else `other`. */
  where(condition: Tensor, other: TensorOrScalar): Tensor {
    return T('where', [condition, this, other]);
  }
}
