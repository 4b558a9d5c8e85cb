#!/usr/bin/python3
"""One rank of bench/ddp-scaling.ts on the PyTorch side, the twin of bench/ddp-rank.ts: SGD steps of the
reference demo's CIFAR-stem ResNet-18 (ModelBase, as bench/resnet18_step.py) under torch's
DistributedDataParallel on Gloo, on this rank's share of the global batch; rank 0 prints the median
step time as JSON.

RANK=r WORLD_SIZE=w MASTER_ADDR=127.0.0.1 MASTER_PORT=p python3 bench/ddp_rank.py GLOBAL_BATCH STEPS
"""
import json
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from reference_moco import ModelBase


def main():
    global_batch, steps = int(sys.argv[1]), int(sys.argv[2])
    dist.init_process_group('gloo')
    rank, world = dist.get_rank(), dist.get_world_size()
    batch = global_batch // world
    torch.manual_seed(rank)
    model = ModelBase(feature_dim=10, arch='resnet18', bn_splits=1)
    ddp = DistributedDataParallel(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, 10, (batch,))
    times = []
    for s in range(steps + 2):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(ddp(x), y).backward()
        opt.step()
        if s >= 2:  # two warm-up steps
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    if rank == 0:
        print(json.dumps({'ms': times[len(times) // 2], 'batch': batch}))
    dist.destroy_process_group()


if __name__ == '__main__':
    main()
