#!/usr/bin/python3
"""Python twin of bench/cases/augment.ts: the reference's two-view CIFAR pipeline (unmix_c10.py's
CIFAR10Pair and train_transform: PIL transforms per image in DataLoader workers; spec 2.3) on the
images the TypeScript side wrote. Each measure: a fresh epoch (workers start), its first batch untimed,
the next `batches` timed, answered as {"ms": per batch}; on CUDA each batch is moved to the GPU as the
reference's training loop does.
"""
import time

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

from twin import serve, sync

train_transform = transforms.Compose([
    transforms.RandomResizedCrop(32),
    transforms.RandomHorizontalFlip(p=0.5),
    transforms.RandomApply([transforms.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
    transforms.RandomGrayscale(p=0.2),
    transforms.ToTensor(),
    transforms.Normalize([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010])])


class CIFAR10Pair(torch.utils.data.Dataset):
    """unmix_c10.py's CIFAR10Pair over uint8 HWC images (torchvision's CIFAR10.data layout)."""

    def __init__(self, data):
        self.data = data

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        img = Image.fromarray(self.data[index])
        return train_transform(img), train_transform(img)


def setup(config):
    device, batch, batches = config['device'], int(config['batch']), int(config['batches'])
    data = np.fromfile(config['file'], dtype=np.uint8).reshape(config['n'], 3, 32, 32).transpose(0, 2, 3, 1).copy()
    cuda = device.startswith('cuda')
    # Not persistent: between repeats no worker runs, so none competes with the TypeScript side.
    loader = torch.utils.data.DataLoader(CIFAR10Pair(data), batch_size=batch, shuffle=True, num_workers=int(config['workers']),
                                         pin_memory=cuda, drop_last=True)

    def fetch(it):
        im_1, im_2 = next(it)
        if cuda:
            im_1, im_2 = im_1.to(device, non_blocking=True), im_2.to(device, non_blocking=True)
        return im_1.shape[0]

    def measure():
        it = iter(loader)
        fetch(it)  # untimed: the workers start
        sync(device)
        start = time.perf_counter()
        seen = sum(fetch(it) for _ in range(batches))
        sync(device)
        ms = (time.perf_counter() - start) * 1e3
        if seen != batch * batches:
            raise RuntimeError(f'got {seen} images, expected {batch * batches}')
        del it
        return {'ms': ms / batches}

    return measure, {}


if __name__ == '__main__':
    serve(setup)
