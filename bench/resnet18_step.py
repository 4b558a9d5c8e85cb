#!/usr/bin/python3
"""Python twin of bench/cases/resnet18-step.ts: one training step of the reference demo's CIFAR-stem
ResNet-18 (ModelBase: torchvision resnet18, 3x3/1 conv1, no max pool; plain BN), cross entropy,
SGD(0.1, momentum 0.9, wd 5e-4). Each measure: `steps` steps, answered as {"ms": per step}.
"""
import torch
import torch.nn.functional as F

from reference_moco import ModelBase
from twin import parameter_count, serve, time_ms


def setup(config):
    device, batch, steps = config['device'], int(config['batch']), int(config['steps'])
    model = ModelBase(feature_dim=config['classes'], arch='resnet18', bn_splits=1).to(device)
    fmt = torch.channels_last if config['channelsLast'] else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    torch.manual_seed(0)
    x = torch.randn(batch, 3, 32, 32, device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, config['classes'], (batch,), device=device)

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)  # as unmix's zeroGrad (and torch 2's default)
        loss.backward()
        opt.step()

    def run():
        for _ in range(steps):
            step()

    return (lambda: {'ms': time_ms(device, run) / steps}), {'parameters': parameter_count(model)}


if __name__ == '__main__':
    serve(setup)
