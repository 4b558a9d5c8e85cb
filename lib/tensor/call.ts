// One ATen op call whose result is one Tensor: what most Tensor methods are.
import { call } from '../dispatch';
import type { Tensor } from '.';

export function T(name: string, args: unknown[], kwargs?: Record<string, unknown>): Tensor {
  return call(name, args, kwargs) as Tensor;
}
