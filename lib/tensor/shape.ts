// Tensor methods that view or reshape: view, reshape, permute, transpose, narrow, slice, split,
// expand, squeeze... Mixed into Tensor by tensor/index.ts.
import { call } from '../dispatch';
import { T } from './call';
import type { Tensor } from '.';

export abstract class ShapeMethods {
  view(...shape: number[] | [number[]]): Tensor {
    return T('view', [this, flatShape(shape)]);
  }
  reshape(...shape: number[] | [number[]]): Tensor {
    return T('reshape', [this, flatShape(shape)]);
  }
  viewAs(other: Tensor): Tensor {
    return T('view_as', [this, other]);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return T('flatten.using_ints', [this, startDim, endDim]);
  }
  unflatten(dim: number, sizes: number[]): Tensor {
    return T('unflatten.int', [this, dim, sizes]);
  }
  permute(...order: number[] | [number[]]): Tensor {
    return T('permute', [this, flatShape(order)]);
  }
  transpose(dim0: number, dim1: number): Tensor {
    return T('transpose.int', [this, dim0, dim1]);
  }
  /** Transpose of a 2-d tensor. */
  t(): Tensor {
    return T('t', [this]);
  }
  get T(): Tensor {
    return this.t();
  }
  flip(dims: number | number[]): Tensor {
    return T('flip', [this, dims]);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return T('narrow', [this, dim, start, length]);
  }
  select(dim: number, index: number): Tensor {
    return T('select.int', [this, dim, index]);
  }
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return T('slice.Tensor', [this, dim, start ?? null, end ?? null, step]);
  }
  split(splitSize: number | number[], dim = 0): Tensor[] {
    return (
      Array.isArray(splitSize)
        ? call('split_with_sizes', [this, splitSize, dim])
        : call('split.Tensor', [this, splitSize, dim])
    ) as Tensor[];
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return call('chunk', [this, chunks, dim]) as Tensor[];
  }
  unbind(dim = 0): Tensor[] {
    return call('unbind.int', [this, dim]) as Tensor[];
  }
  expand(...shape: number[] | [number[]]): Tensor {
    return T('expand', [this, flatShape(shape)]);
  }
  expandAs(other: Tensor): Tensor {
    return T('expand_as', [this, other]);
  }
  repeat(...repeats: number[] | [number[]]): Tensor {
    return T('repeat', [this, flatShape(repeats)]);
  }
  /** A view with explicit sizes, strides and storage offset (torch.as_strided). */
  asStrided(size: number[], stride: number[], storageOffset = 0): Tensor {
    return T('as_strided', [this, size, stride, storageOffset]);
  }
  /** Shifts elements along `dims` by `shifts`, wrapping around (torch.roll). */
  roll(shifts: number | number[], dims: number | number[] = []): Tensor {
    return T('roll', [this, shifts, dims]);
  }
  repeatInterleave(repeats: number, dim?: number): Tensor {
    return T('repeat_interleave.self_int', [this, repeats, dim ?? null]);
  }
  squeeze(dim?: number): Tensor {
    return dim === undefined ? T('squeeze', [this]) : T('squeeze.dim', [this, dim]);
  }
  unsqueeze(dim: number): Tensor {
    return T('unsqueeze', [this, dim]);
  }
}

function flatShape(shape: number[] | [number[]]): number[] {
  return Array.isArray(shape[0]) ? (shape[0] as number[]) : (shape as number[]);
}
