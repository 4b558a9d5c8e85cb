#!/usr/bin/python3
"""Statistics of recorded training batches (unmix-batches/1: the twin's --save-batches, the example's
--record-batches), to compare the augmented views each side's pipeline makes from the same images:
per-channel mean and std (normalised units), per-image contrast (spatial std, averaged over channels), a
saturation proxy (std over channels), the share of grey images (channels equal), mean |view 1 - view 2|,
and the share of pixels at the [0, 1] range's ends (clipped), each averaged over every batch of every epoch.

    /usr/bin/python3 bench/parity/batch_stats.py FOLDER [FOLDER ...]
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def stats(folder):
    with open(os.path.join(folder, 'batches.json')) as f:
        meta = json.load(f)
    mean = torch.tensor(common.CIFAR_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(common.CIFAR_STD).view(1, 3, 1, 1)
    rows = []
    for epoch in meta['epochs']:
        for views in common.replay_batches(folder, epoch):
            a, c = views[0], views[1]
            pixels = a * std + mean  # back to [0, 1]
            rows.append(a.mean((0, 2, 3)).tolist() + a.std((0, 2, 3)).tolist() + [
                pixels.std((2, 3)).mean().item(),
                pixels.std(1).mean().item(),
                (pixels.std(1).amax((1, 2)) < 1e-3).float().mean().item(),
                (a - c).abs().mean().item(),
                ((pixels < 0.5 / 255) | (pixels > 1 - 0.5 / 255)).float().mean().item(),
            ])
    r = np.array(rows).mean(0)
    return {'folder': folder, 'batches': len(rows), 'mean': r[0:3].round(4).tolist(), 'std': r[3:6].round(4).tolist(),
            'contrast': round(r[6], 5), 'saturation': round(r[7], 5), 'grey': round(r[8], 4), 'viewDiff': round(r[9], 4),
            'clipped': round(r[10], 5)}


if __name__ == '__main__':
    for folder in sys.argv[1:]:
        print(json.dumps(stats(folder)))
