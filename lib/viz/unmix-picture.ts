// Un-Mix in one picture: a batch's two views, each image's partner (the reversed batch), and the two
// mixtures Un-Mix makes of view 1: global (mixup, weight λ) and region (CutMix, box outlined, λ from
// the box). The mixtures are made from the whole batch, as in training, and the first `count` shown.
import { noGrad } from '../autograd';
import * as F from '../functional';
import { scope } from '../memory';
import { Rng } from '../rng';
import { Box, drawMixParams, mixWithParams, reverseBatch } from '../ssl/unmix';
import { Tensor } from '../tensor';
import { imageGrid, Normalization, Picture } from './grid';
import * as is from '../validate';

export interface UnmixPictureOptions {
  /** the loader's normalisation, to undo (normalizationOf(viewSpec.pipeline)) */
  normalization?: Normalization;
  /** images per row (default 8) */
  count?: number;
  /** λ ~ Beta(beta, beta) (default 1, the reference's) */
  beta?: number;
  /** where λ and the box come from (default Rng(0)) */
  rng?: Rng;
  /** upscaling (default 2) */
  scale?: number;
}

export interface UnmixPicture extends Picture {
  /** λ of the global mixture */
  globalLam: number;
  /** λ of the region mixture (recomputed from the box) and its box [a1, b1, a2, b2] */
  regionLam: number;
  box: Box;
}

/** Rows: view 1, view 2 (when given), partner, global mixture, region mixture. */
export async function unmixPicture(views: Tensor[], options: UnmixPictureOptions = {}): Promise<UnmixPicture> {
  if (!Array.isArray(views) || !views.length || views.some((v) => !(v instanceof Tensor) || v.ndim !== 4)) {
    throw new Error('unmixPicture: views must be a list of image batches [N, C, H, W]');
  }
  const rng = options.rng ?? new Rng(0);
  const beta = options.beta ?? 1;
  const [x1, x2] = views;
  const n = x1.shape[0];
  const count = Math.min(is.positiveInt('unmixPicture', 'count', options.count ?? 8), n);
  const global = drawMixParams(x1.shape, { enabled: true, prob: 1, beta }, rng);
  const region = drawMixParams(x1.shape, { enabled: true, prob: 0, beta }, rng);
  const { rows, globalLam, regionLam, box } = noGrad(() =>
    scope(() => {
      const g = mixWithParams(x1, global);
      const r = mixWithParams(x1, region);
      const first = (t: Tensor) => t.narrow(0, 0, count);
      const shown = [first(x1), ...(x2 ? [first(x2)] : []), first(reverseBatch(x1)), first(g.mixed), first(r.mixed)];
      return {
        rows: F.cat(shown.map((t) => t.to({ device: 'cpu', dtype: 'float32' }))),
        globalLam: g.lam,
        regionLam: r.lam,
        box: r.box!,
      };
    }),
  );
  try {
    const labels = [
      'view 1',
      ...(x2 ? ['view 2'] : []),
      'partner',
      `global λ=${globalLam.toFixed(2)}`,
      `region λ=${regionLam.toFixed(2)}`,
    ];
    const total = labels.length * count;
    const regionRow = total - count;
    const picture = await imageGrid(rows, {
      columns: count,
      normalization: options.normalization,
      scale: options.scale ?? 2,
      captions: Array.from({ length: total }, (_, i) => (i % count === 0 ? labels[i / count] : '')),
      boxes: Array.from({ length: total }, (_, i) => (i >= regionRow ? box : null)),
    });
    return { ...picture, globalLam, regionLam, box };
  } finally {
    rows.dispose();
  }
}
