#!/usr/bin/python3
"""A SwAV example checkpoint (checkpoint.safetensors) as a torch.save state dict with src/resnet50.py's names,
for `--init-weights` on both sides (e.g. the plateau steps of plateau-steps.sh). float32 and int64 tensors.

    /usr/bin/python3 bench/parity/ts_checkpoint_to_torch.py RUN/checkpoint.safetensors OUT.pth
"""
import json
import struct
import sys

import numpy as np
import torch

DTYPES = {'F32': np.float32, 'I64': np.int64}
src, dst = sys.argv[1], sys.argv[2]
with open(src, 'rb') as f:
    header = json.loads(f.read(struct.unpack('<Q', f.read(8))[0]))
    data = f.read()
state = {}
for key, info in header.items():
    if key == '__metadata__' or not key.startswith('modules.method.') or key.endswith('.queue'):
        continue
    name = key[len('modules.method.'):]
    if name == 'queue':
        continue
    name = name[len('backbone.'):] if name.startswith('backbone.') else name  # the trunk is at the top level there
    begin, end = info['data_offsets']
    state[name] = torch.from_numpy(np.frombuffer(data[begin:end], dtype=DTYPES[info['dtype']]).reshape(info['shape']).copy())
torch.save(state, dst)
print(f'{dst}: {len(state)} tensors')
