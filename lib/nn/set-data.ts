// `param.data = other` (torch's Variable::set_data): `t` keeps its object, autograd identity and
// requires_grad, and takes `other`'s storage, dtype, device and strides.
import { noGrad } from '../autograd';
import { call } from '../dispatch';
import { Tensor } from '../tensor';

export function setData(t: Tensor, other: Tensor): void {
  noGrad(() => call('set_data', [t, other]));
  // Tensor reads its dtype and device once ("they never change"); set_data is the one exception,
  // so the cached values are dropped here. (A Tensor.setData_ in tensor/index.ts would own this.)
  const cached = t as unknown as { _dtype?: unknown; _device?: unknown };
  cached._dtype = undefined;
  cached._device = undefined;
}
