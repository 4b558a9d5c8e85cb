// Tensor products (matmul, mm, bmm, dot) and softmaxes. Mixed into Tensor by tensor/index.ts.
import { T } from './call';
import type { Tensor } from '.';

export abstract class LinalgMethods {
  matmul(other: Tensor): Tensor {
    return T('matmul', [this, other]);
  }
  mm(other: Tensor): Tensor {
    return T('mm', [this, other]);
  }
  bmm(other: Tensor): Tensor {
    return T('bmm', [this, other]);
  }
  dot(other: Tensor): Tensor {
    return T('dot', [this, other]);
  }
  softmax(dim: number): Tensor {
    return T('softmax.int', [this, dim]);
  }
  logSoftmax(dim: number): Tensor {
    return T('log_softmax.int', [this, dim]);
  }
}
