// Tensor methods that index: Python-style index()/indexPut_(), gather, scatter, indexSelect, indexCopy.
// Mixed into Tensor by tensor/index.ts.
import { call } from '../dispatch';
import { native } from '../native';
import { T } from './call';
// A cycle (index.ts imports this file): Tensor is only read inside methods, once index.ts has run.
import { Tensor } from '.';
import type { Index, TensorOrScalar } from './types';

export abstract class IndexingMethods {
  /** Tensor's own (index.ts), for passing this to native code. @internal */
  abstract checked(op: string): this;

  indexSelect(dim: number, index: Tensor): Tensor {
    return T('index_select', [this, dim, index]);
  }
  gather(dim: number, index: Tensor): Tensor {
    return T('gather', [this, dim, index]);
  }
  /** A copy with the rows `index` along `dim` replaced by `source` (torch.index_copy). */
  indexCopy(dim: number, index: Tensor, source: Tensor): Tensor {
    return T('index_copy', [this, dim, index, source]);
  }
  indexCopy_(dim: number, index: Tensor, source: Tensor): this {
    call('index_copy_', [this, dim, index, source]);
    return this;
  }
  scatter(dim: number, index: Tensor, src: TensorOrScalar): Tensor {
    return T(src instanceof Tensor ? 'scatter.src' : 'scatter.value', [this, dim, index, src]);
  }
  scatter_(dim: number, index: Tensor, src: TensorOrScalar): this {
    call(src instanceof Tensor ? 'scatter_.src' : 'scatter_.value', [this, dim, index, src]);
    return this;
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return T('scatter_add', [this, dim, index, src]);
  }
  /** Python-style indexing, one native call: t.index(0, { start: 1 }, null, '...', idx) is t[0, 1:, None, ..., idx]. */
  index(...indices: Index[]): Tensor {
    return Tensor.fromHandle(native.index(this.checked('index'), indices.map(toNativeIndex)));
  }
  /** Python-style index assignment, in place: t.indexPut_([mask], 0) is t[mask] = 0. */
  indexPut_(indices: Index[], value: TensorOrScalar): this {
    native.indexPut(
      this.checked('indexPut_'),
      indices.map(toNativeIndex),
      value instanceof Tensor ? value.checked('indexPut_') : value,
    );
    return this;
  }
  /** t[indices] += values (accumulating repeated indices) for index tensors; null keeps a dimension whole. */
  indexAdd_(indices: (Tensor | null)[], values: Tensor): this {
    call('index_put_', [this, indices, values, true]);
    return this;
  }
}

// Slices cross as [start, end, step] arrays: read by position, cheaper than by name.
function toNativeIndex(i: Index): unknown {
  if (i instanceof Tensor) return i.checked('index');
  if (i !== null && typeof i === 'object') return [i.start ?? null, i.end ?? null, i.step ?? null];
  return i;
}
