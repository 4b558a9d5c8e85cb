// The optimizer setting solo-learn's CIFAR recipes share (BYOL, SimCLR; spec §7).

/** LARS with warmup-cosine, batch 256, 1000 epochs. */
export interface LarsRecipe {
  batchSize: number;
  epochs: number;
  lr: number;
  weightDecay: number;
  lars: { trustCoefficient: number; clip: boolean; excludeBiasAndNorm: boolean };
}
