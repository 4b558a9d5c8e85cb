// Elementwise Tensor methods: arithmetic (add, mul, addcmul, lerp, clamp...) and unary math (exp,
// sqrt, relu...), with their in-place forms. Mixed into Tensor by tensor/index.ts.
import { call } from '../dispatch';
import { T } from './call';
import type { Tensor } from '.';
import type { TensorOrScalar } from './types';

export abstract class ArithmeticMethods {
  add(other: TensorOrScalar, alpha?: number): Tensor {
    return T('add', [this, other], alpha === undefined ? undefined : { alpha });
  }
  add_(other: TensorOrScalar, alpha?: number): this {
    call('add_', [this, other], alpha === undefined ? undefined : { alpha });
    return this;
  }
  sub(other: TensorOrScalar, alpha?: number): Tensor {
    return T('sub', [this, other], alpha === undefined ? undefined : { alpha });
  }
  sub_(other: TensorOrScalar, alpha?: number): this {
    call('sub_', [this, other], alpha === undefined ? undefined : { alpha });
    return this;
  }
  mul(other: TensorOrScalar): Tensor {
    return T('mul', [this, other]);
  }
  mul_(other: TensorOrScalar): this {
    call('mul_', [this, other]);
    return this;
  }
  div(other: TensorOrScalar, roundingMode?: 'trunc' | 'floor'): Tensor {
    return T('div', [this, other], roundingMode ? { rounding_mode: roundingMode } : undefined);
  }
  div_(other: TensorOrScalar): this {
    call('div_', [this, other]);
    return this;
  }
  remainder(other: TensorOrScalar): Tensor {
    return T('remainder', [this, other]);
  }
  /** C-style remainder (sign of the dividend), torch.fmod. */
  fmod(other: TensorOrScalar): Tensor {
    return T('fmod', [this, other]);
  }
  /** other − this (torch.rsub). */
  rsub(other: TensorOrScalar): Tensor {
    return T('rsub', [this, other]);
  }
  pow(exponent: TensorOrScalar): Tensor {
    return T('pow', [this, exponent]);
  }
  pow_(exponent: TensorOrScalar): this {
    call('pow_', [this, exponent]);
    return this;
  }
  /** this + value * t1 * t2 */
  addcmul(t1: Tensor, t2: Tensor, value = 1): Tensor {
    return T('addcmul', [this, t1, t2], { value });
  }
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this {
    call('addcmul_', [this, t1, t2], { value });
    return this;
  }
  /** this + value * t1 / t2 */
  addcdiv(t1: Tensor, t2: Tensor, value = 1): Tensor {
    return T('addcdiv', [this, t1, t2], { value });
  }
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this {
    call('addcdiv_', [this, t1, t2], { value });
    return this;
  }
  lerp(end: Tensor, weight: TensorOrScalar): Tensor {
    return T('lerp', [this, end, weight]);
  }
  lerp_(end: Tensor, weight: TensorOrScalar): this {
    call('lerp_', [this, end, weight]);
    return this;
  }
  maximum(other: Tensor): Tensor {
    return T('maximum', [this, other]);
  }
  minimum(other: Tensor): Tensor {
    return T('minimum', [this, other]);
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return T('clamp', [this, min ?? null, max ?? null]);
  }
  clamp_(min?: number | null, max?: number | null): this {
    call('clamp_', [this, min ?? null, max ?? null]);
    return this;
  }
  neg(): Tensor {
    return T('neg', [this]);
  }
  abs(): Tensor {
    return T('abs', [this]);
  }
  exp(): Tensor {
    return T('exp', [this]);
  }
  log(): Tensor {
    return T('log', [this]);
  }
  log1p(): Tensor {
    return T('log1p', [this]);
  }
  sqrt(): Tensor {
    return T('sqrt', [this]);
  }
  rsqrt(): Tensor {
    return T('rsqrt', [this]);
  }
  square(): Tensor {
    return T('square', [this]);
  }
  reciprocal(): Tensor {
    return T('reciprocal', [this]);
  }
  sin(): Tensor {
    return T('sin', [this]);
  }
  cos(): Tensor {
    return T('cos', [this]);
  }
  tanh(): Tensor {
    return T('tanh', [this]);
  }
  sigmoid(): Tensor {
    return T('sigmoid', [this]);
  }
  relu(): Tensor {
    return T('relu', [this]);
  }
  relu_(): this {
    call('relu_', [this]);
    return this;
  }
  floor(): Tensor {
    return T('floor', [this]);
  }
  ceil(): Tensor {
    return T('ceil', [this]);
  }
  round(): Tensor {
    return T('round', [this]);
  }
  sign(): Tensor {
    return T('sign', [this]);
  }
}
