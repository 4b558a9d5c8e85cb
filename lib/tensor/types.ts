// The types of Tensor methods' arguments (re-exported by tensor/index.ts).
import type { Tensor } from '.';

export type Scalar = number | boolean;
export type TensorOrScalar = Tensor | Scalar;
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
export type MemoryFormat = 'contiguous_format' | 'channels_last' | 'preserve_format';
export type NestedArray = number | boolean | NestedArray[];

/** A slice for `index()`: start inclusive, end exclusive, like Python's `start:end:step`. */
export interface Slice {
  start?: number;
  end?: number;
  step?: number;
}
/** number: select; Slice: slice; null: new axis; '...': ellipsis; Tensor: advanced (integer or bool) index. */
export type Index = number | Slice | null | '...' | Tensor;

export interface ReduceOptions {
  keepdim?: boolean;
}
