#!/usr/bin/python3
"""The reference's two-view CIFAR pipeline (spec §2.3: PIL transforms per image in DataLoader workers),
timed on the same images as bench/augment.ts. Prints one JSON line: images per second.

    /usr/bin/python3 bench/augment.py IMAGES.u8 N BATCH WORKERS BATCHES
"""
import json
import sys
import time

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

path, n, batch, workers, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
data = np.fromfile(path, dtype=np.uint8).reshape(n, 3, 32, 32).transpose(0, 2, 3, 1).copy()  # HWC as torchvision's CIFAR
torch.set_num_threads(1)

train_transform = transforms.Compose([
    transforms.RandomResizedCrop(32),
    transforms.RandomHorizontalFlip(p=0.5),
    transforms.RandomApply([transforms.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
    transforms.RandomGrayscale(p=0.2),
    transforms.ToTensor(),
    transforms.Normalize([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010])])


class CIFAR10Pair(torch.utils.data.Dataset):
    def __len__(self):
        return n

    def __getitem__(self, i):
        img = Image.fromarray(data[i])
        return train_transform(img), train_transform(img)


loader = torch.utils.data.DataLoader(CIFAR10Pair(), batch_size=batch, shuffle=True, num_workers=workers,
                                     drop_last=True, persistent_workers=workers > 0)
it = iter(loader)
next(it)  # warm-up: workers started
start = time.perf_counter()
seen = 0
for _ in range(batches):
    try:
        x1, x2 = next(it)
    except StopIteration:
        it = iter(loader)
        x1, x2 = next(it)
    seen += x1.shape[0]
elapsed = time.perf_counter() - start
print(json.dumps({"images": seen, "seconds": elapsed, "images_per_s": seen / elapsed}))
