// Nearest neighbours in a picture: each query image, then its k most similar bank images by cosine
// similarity of their features, framed green when they share the query's class and red otherwise.
import { noGrad } from '../autograd';
import { tensor } from '../creation';
import * as F from '../functional';
import { scope } from '../memory';
import { Tensor } from '../tensor';
import { imageGrid, Normalization, Picture, Rgb } from './grid';
import * as is from '../validate';

export interface NeighbourGridOptions {
  /** query images [Q, C, H, W] and their features [Q, D] */
  queries: Tensor;
  queryFeatures: Tensor;
  /** bank images [N, C, H, W] and their features [N, D] (one row per image) */
  bank: Tensor;
  bankFeatures: Tensor;
  /** neighbours per query (default 8) */
  k?: number;
  /** class indices of queries and bank images: frames and captions */
  queryLabels?: ArrayLike<number>;
  bankLabels?: ArrayLike<number>;
  classNames?: readonly string[];
  normalization?: Normalization;
  scale?: number;
}

export interface NeighbourGrid extends Picture {
  /** bank indices of each query's neighbours, most similar first */
  indices: number[][];
  similarities: number[][];
}

const SAME: Rgb = [40, 170, 60];
const OTHER: Rgb = [220, 40, 40];

export async function neighbourGrid(o: NeighbourGridOptions): Promise<NeighbourGrid> {
  const q = o.queries.shape[0];
  const n = o.bank.shape[0];
  const k = o.k ?? 8;
  is.intInRange('neighbourGrid', 'k', k, 1, n, 'the bank size');
  if (o.queryFeatures.ndim !== 2 || o.queryFeatures.shape[0] !== q)
    throw new Error(`neighbourGrid: queryFeatures must be [${q}, D], got [${o.queryFeatures.shape.join(', ')}]`);
  if (o.bankFeatures.ndim !== 2 || o.bankFeatures.shape[0] !== n)
    throw new Error(`neighbourGrid: bankFeatures must be [${n}, D], got [${o.bankFeatures.shape.join(', ')}]`);
  const { indices, similarities } = noGrad(() =>
    scope(() => {
      const sim = F.normalize(o.queryFeatures.float(), { dim: 1 }).mm(
        F.normalize(o.bankFeatures.float(), { dim: 1 }).t(),
      );
      const top = sim.topk(k, 1);
      const idx = Array.from(top.indices.to('cpu').data() as BigInt64Array, Number);
      const val = Array.from(top.values.to('cpu').data() as Float32Array);
      const rows = (a: number[]) => Array.from({ length: q }, (_, i) => a.slice(i * k, (i + 1) * k));
      return { indices: rows(idx), similarities: rows(val) };
    }),
  );
  const images = scope(() => {
    const order = tensor(Int32Array.from(indices.flat()), { device: o.bank.device }).to('int64');
    const neighbours = o.bank.indexSelect(0, order).to('cpu');
    const cells: Tensor[] = [];
    for (let i = 0; i < q; i++)
      cells.push(o.queries.narrow(0, i, 1).to('cpu').to(neighbours.dtype), neighbours.narrow(0, i * k, k));
    return F.cat(cells);
  });
  try {
    const name = (label: number) => o.classNames?.[label] ?? String(label);
    const captions: string[] = [];
    const frames: (Rgb | null)[] = [];
    indices.forEach((row, i) => {
      const ql = o.queryLabels?.[i];
      captions.push(ql === undefined ? 'query' : name(ql));
      frames.push(null);
      row.forEach((j, r) => {
        const bl = o.bankLabels?.[j];
        captions.push(similarities[i][r].toFixed(3));
        frames.push(ql === undefined || bl === undefined ? null : bl === ql ? SAME : OTHER);
      });
    });
    const picture = await imageGrid(images, {
      columns: k + 1,
      normalization: o.normalization,
      scale: o.scale ?? 2,
      padding: 5,
      captions,
      frames,
    });
    return { ...picture, indices, similarities };
  } finally {
    images.dispose();
  }
}
