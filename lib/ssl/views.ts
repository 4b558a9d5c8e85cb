// Checks of the views a two-view method (BYOL, SimCLR, a new method) gets from the trainer.
import { Tensor } from '../tensor';

export function checkTwoViews(method: string, views: Tensor[]): void {
  if (!Array.isArray(views) || views.length !== 2)
    throw new Error(`${method}: expected 2 views, got ${Array.isArray(views) ? views.length : typeof views}`);
  const [a, b] = views;
  if (a.ndim !== 4 || a.shape.join() !== b.shape.join()) {
    throw new Error(
      `${method}: the two views must be [N, C, H, W] of one shape, got [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`,
    );
  }
}
