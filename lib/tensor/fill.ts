// In-place fills of a Tensor's elements: zero_, fill_ and the random uniform_/normal_ (the
// creation functions' counterparts on an existing tensor). Mixed into Tensor by tensor/index.ts.
import { call } from '../dispatch';
import type { TensorOrScalar } from './types';

export abstract class FillMethods {
  zero_(): this {
    call('zero_', [this]);
    return this;
  }
  fill_(value: TensorOrScalar): this {
    call('fill_', [this, value]);
    return this;
  }
  uniform_(from = 0, to = 1): this {
    call('uniform_', [this, from, to]);
    return this;
  }
  normal_(mean = 0, std = 1): this {
    call('normal_', [this, mean, std]);
    return this;
  }
}
