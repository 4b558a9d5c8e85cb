#!/usr/bin/python3
"""Statistics of the reference's augmented views (CIFAR10Pair + unmix_c10.py's train_transform, PIL) on a
parity subset, for bench/parity/augment-stats.ts: per-channel mean/std, mean |view1 - view2|, per-image
contrast (spatial std) and a saturation proxy (std over channels), averaged over batches of 500, 2 epochs.
    /usr/bin/python3 bench/parity/augment_stats.py INDICES_JSON [DATA]
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import moco_c10  # noqa: E402

torch.manual_seed(0)
idx = json.load(open(sys.argv[1]))
data = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), '..', '..', '..', 'shared', 'data', 'cifar10-jpeg.tar.gz')
splits = common.load_splits(data, {'train': idx['train'], 'test': idx['test'][:10]})
dl = torch.utils.data.DataLoader(moco_c10.CIFAR10Pair(splits['train'], moco_c10.train_transform), batch_size=500, shuffle=True, drop_last=True)
stats = []
for epoch in range(2):
    for a, c in dl:
        stats.append(a.mean((0, 2, 3)).tolist() + a.std((0, 2, 3)).tolist() + [(a - c).abs().mean().item(), a.std((2, 3)).mean().item(), a.std(1).mean().item()])
avg = [sum(r[i] for r in stats) / len(stats) for i in range(9)]
print(json.dumps({'side': 'reference (PIL)', 'batches': len(stats), 'mean': avg[:3], 'std': avg[3:6], 'viewDiff': avg[6], 'contrast': avg[7], 'saturation': avg[8]}))
