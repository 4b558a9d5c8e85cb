#!/usr/bin/python3
"""Python twin of bench/cases/unmix-moco-step.ts: one iteration of the reference MoCo CIFAR demo with
Un-Mix (unmix_c10.py's ModelMoCo and train() body, copied in reference_moco.py): symmetric loss,
SplitBatchNorm, shuffle-BN, Un-Mix with prob 0.5, SGD(0.06, momentum 0.9, wd 5e-4), loss.item(); with
config['amp'] (e.g. 'bfloat16') the forward under torch.autocast in that dtype.
Each measure: `steps` iterations, answered as {"ms": per iteration}.
"""
import numpy as np
import torch

from reference_moco import ModelMoCo, train_step
from twin import parameter_count, serve, time_ms


def setup(config):
    device, batch, steps = config['device'], int(config['batch']), int(config['steps'])
    torch.manual_seed(0)
    np.random.seed(0)
    model = ModelMoCo(dim=128, K=int(config['K']), m=0.99, T=0.1, arch=config['arch'], bn_splits=int(config['bnSplits']),
                      symmetric=config['symmetric'], width=int(config['width']), device=device).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.06, weight_decay=5e-4, momentum=0.9)
    model.train()
    im_1 = torch.randn(batch, 3, 32, 32, device=device)
    im_2 = torch.randn(batch, 3, 32, 32, device=device)
    amp = getattr(torch, config['amp']) if config.get('amp') else None

    def run():
        for _ in range(steps):
            train_step(model, optimizer, im_1, im_2, config['prob'], amp=amp)

    return (lambda: {'ms': time_ms(device, run) / steps}), {'parameters': parameter_count(model)}


if __name__ == '__main__':
    serve(setup)
