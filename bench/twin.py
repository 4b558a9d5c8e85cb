"""The protocol of the Python twins of bench/cases/*.ts (bench/cases/harness.ts speaks the other end).

A twin is started as `python3 bench/<case>.py CONFIG_JSON`. It builds its side, prints one JSON line
{"ready": true, ...}, then answers each `measure` line on stdin with one timed repeat as a JSON line
({"ms": ..., ...}) until `quit` or the end of stdin. Any exception is printed as {"error": traceback}.
"""
import json
import sys
import time
import traceback

import torch


def emit(value):
    print(json.dumps(value), flush=True)


def sync(device):
    """Waits for queued device work, so a timer read after it covers the kernels too."""
    if device.startswith('cuda'):
        torch.cuda.synchronize(device)


def time_ms(device, fn):
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return (time.perf_counter() - start) * 1e3


def parameter_count(module):
    return sum(p.numel() for p in module.parameters())


def serve(setup):
    """setup(config) -> (measure, info): measure() runs one repeat and returns {name: ms}."""
    try:
        config = json.loads(sys.argv[1])
        torch.set_num_threads(int(config['threads']))
        device = config.get('device', 'cpu')
        if device.startswith('cuda') and not torch.cuda.is_available():
            raise RuntimeError(f'device {device} asked for, but this torch ({torch.__version__}) sees no CUDA device')
        measure, info = setup(config)
        ready = {'ready': True, 'torch': torch.__version__, 'threads': torch.get_num_threads(), **info}
        if device.startswith('cuda'):
            ready['gpu'] = torch.cuda.get_device_name(torch.device(device))
        emit(ready)
        for line in sys.stdin:
            command = line.strip()
            if command == 'measure':
                emit(measure())
            elif command == 'quit':
                return
            elif command:
                raise ValueError(f'unknown command {command!r}')
    except Exception:  # reported to the runner, which shows it
        emit({'error': traceback.format_exc()})
        sys.exit(1)
