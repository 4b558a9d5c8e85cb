"""Python twin of bench/op-overhead.ts: microseconds per call of small-tensor ops in PyTorch.

Run by `npm run bench -- op-overhead` with Debian's python3-torch (same LibTorch as ours).
Prints one JSON object: {"op": microseconds, ...}.
"""
import json
import sys
import time

import torch

torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else torch.get_num_threads())
iters = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
a = torch.randn(8)
b = torch.randn(8)
m = torch.randn(8, 8)
x = torch.randn(16, 8)

cases = {
    "add": lambda: a + b,
    "add_scalar": lambda: a + 1.5,
    "add_": lambda: a.add_(b),
    "matmul8x8": lambda: m @ m,
    "index": lambda: x[3],
    "slice": lambda: x[2:10, 1:5],
    "sum": lambda: a.sum(),
    "relu": lambda: torch.relu(a),
}

result = {}
for name, fn in cases.items():
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(iters):
            fn()
        best = min(best, (time.perf_counter() - start) / iters * 1e6)
    result[name] = best
print(json.dumps(result))
