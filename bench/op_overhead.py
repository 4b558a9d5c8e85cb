#!/usr/bin/python3
"""Python twin of bench/cases/op-overhead.ts: microseconds per call of small-tensor ops in PyTorch.

Run by `npm run bench -- op-overhead` (protocol: bench/twin.py). Each measure: `iters` calls of every
op, answered as {"ms": one call of each op, "<op>": microseconds per call, ...}.
"""
import time

import torch

from twin import serve, sync


def setup(config):
    device, iters = config['device'], int(config['iters'])
    a = torch.randn(8, device=device)
    b = torch.randn(8, device=device)
    m = torch.randn(8, 8, device=device)
    x = torch.randn(16, 8, device=device)
    ops = {
        'add': lambda: a + b,
        'add_scalar': lambda: a + 1.5,
        'add_': lambda: a.add_(b),
        'matmul8x8': lambda: m @ m,
        'index': lambda: x[3],
        'slice': lambda: x[2:10, 1:5],
        'sum': lambda: a.sum(),
        'relu': lambda: torch.relu(a),
    }
    missing = set(config['ops']) ^ set(ops)
    if missing:
        raise ValueError(f'the two sides time different ops: {sorted(missing)}')

    def measure():
        sample = {'ms': 0.0}
        for name in config['ops']:
            fn = ops[name]
            sync(device)
            start = time.perf_counter()
            for _ in range(iters):
                fn()
            sync(device)
            us = (time.perf_counter() - start) / iters * 1e6
            sample[name] = us
            sample['ms'] += us / 1e3
        return sample

    return measure, {}


if __name__ == '__main__':
    serve(setup)
