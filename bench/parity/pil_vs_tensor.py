#!/usr/bin/python3
"""Where the reference's PIL augmentation and unmix's float tensor arithmetic (torchvision's tensor
functional ops, which unmix's batched transforms reproduce) part: each transform alone, with the same
parameters on both paths, on a parity subset of the real CIFAR-10 JPEGs. Per op: the mean of PIL's output
minus the tensor path's (in [0, 1] and in units of 1/255), the ratio of their per-image contrast (spatial
std), and the mean |difference|. PIL works in uint8 and its Image.blend (brightness, contrast, saturation)
truncates toward zero; resize and grayscale round; hue goes through an 8-bit HSV image.

    /usr/bin/python3 bench/parity/pil_vs_tensor.py [INDICES_JSON] [DATA]
"""
import json
import os
import sys

import torch
import torchvision.transforms.functional as F
from torchvision import transforms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
indices = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, '..', 'results', 'learning-parity-batches', 'runs', 'indices-8-150-100-seed0.json')
data = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, '..', '..', '..', 'shared', 'data', 'cifar10-jpeg.tar.gz')
idx = json.load(open(indices))
split = common.load_splits(data, {'train': idx['train'], 'test': idx['test'][:10]})['train']

torch.manual_seed(0)
crop = transforms.RandomResizedCrop(32, scale=(0.14, 1.0))
ops = {
    'resized crop': lambda: (lambda box: (lambda im: F.resized_crop(im, *box, [32, 32])))(crop.get_params(torch.zeros(3, 32, 32), crop.scale, crop.ratio)),
    'brightness': lambda: (lambda f: (lambda im: F.adjust_brightness(im, f)))(float(torch.empty(1).uniform_(0.6, 1.4))),
    'contrast': lambda: (lambda f: (lambda im: F.adjust_contrast(im, f)))(float(torch.empty(1).uniform_(0.6, 1.4))),
    'saturation': lambda: (lambda f: (lambda im: F.adjust_saturation(im, f)))(float(torch.empty(1).uniform_(0.6, 1.4))),
    'hue': lambda: (lambda f: (lambda im: F.adjust_hue(im, f)))(float(torch.empty(1).uniform_(-0.1, 0.1))),
    'grayscale': lambda: (lambda im: F.rgb_to_grayscale(im, 3)),
}
from PIL import Image  # noqa: E402

rows = {}
for name, draw in ops.items():
    dm, ratio, diff = [], [], []
    for i in range(len(split.targets)):
        op = draw()
        pil = Image.fromarray(split.data[i])
        a = F.to_tensor(op(pil))
        b = op(F.to_tensor(pil))
        # unmix's tensor ops clamp to [0, 1] where torchvision's do (blend); resize does not clamp on either path
        dm.append((a.mean() - b.mean()).item())
        ratio.append((a.std((1, 2)).mean() / b.std((1, 2)).mean().clamp_min(1e-8)).item())
        diff.append((a - b).abs().mean().item())
    n = len(dm)
    rows[name] = {'meanDiff': round(sum(dm) / n, 5), 'meanDiff255': round(255 * sum(dm) / n, 3),
                  'contrastRatio': round(sum(ratio) / n, 4), 'absDiff255': round(255 * sum(diff) / n, 3)}
    print(f'{name:>12}: PIL − tensor mean {rows[name]["meanDiff255"]:+.3f}/255, contrast ratio {rows[name]["contrastRatio"]:.4f}, '
          f'mean |diff| {rows[name]["absDiff255"]:.3f}/255', flush=True)
print(json.dumps({'images': len(split.targets), 'ops': rows}))
