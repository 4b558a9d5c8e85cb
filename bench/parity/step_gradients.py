#!/usr/bin/python3
"""The reference side of bench/parity/step-gradients.sh, and the comparison.

    step_gradients.py dump RUNS_DIR SEED WIDTH STEPS LR float32|float64 OUT.pt
        moco_c10.py's model (the reference's ModelMoCo + Un-Mix) from the runner's initial weights, fed its
        recorded batches and draws (`npm run parity -- --exchange draws`) for STEPS steps of unmix_c10.py's
        SGD, the mixture made as train_step makes it; saves step STEPS's gradients under unmix's names
        (grad.<name>, as bench/parity/step-gradients.ts saves them).
    step_gradients.py compare A.pt B.pt
        the relative L2 distance of A's gradients from B's, over every parameter, and the largest per tensor.
"""
import json
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import common  # noqa: E402
from moco_c10 import LoggedMoCo  # noqa: E402

# ModelBase's Sequential indices -> torchvision names (lib/ssl/moco.ts fromReferenceStateDict)
DEMO_NAMES = {'0': 'conv1', '1': 'bn1', '3': 'layer1', '4': 'layer2', '5': 'layer3', '6': 'layer4', '9': 'fc'}


def unmix_name(name):
    m = re.match(r'^(encoder_[qk])\.net\.(\d+)\.(.+)$', name)
    return f'{m[1]}.{DEMO_NAMES[m[2]]}.{m[3]}' if m else name


def dump(runs, seed, width, steps, lr, dtype, out):
    torch.set_num_threads(1)
    with open(os.path.join(runs, f'draws-moco-unmix-seed{seed}.jsonl')) as f:
        header, *draws = [json.loads(line) for line in f]
    batch = header['batch']
    model = LoggedMoCo(unmix=True, dim=128, K=max(1024, 2 * batch), m=0.99, T=0.1, arch='resnet18', bn_splits=8,
                       symmetric=True, width=width)
    model.load_state_dict(torch.load(os.path.join(runs, f'init-moco-unmix-{width}-seed{seed}.pth')))
    if dtype == 'float64':
        model.double()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=5e-4, momentum=0.9)
    perms = []

    def recorded_shuffle(x):
        p = torch.tensor(perms.pop(0))
        return x[p], torch.argsort(p)

    model._batch_shuffle_single_gpu = recorded_shuffle
    model.train()
    batches = common.replay_batches(os.path.join(runs, f'batches-moco-unmix-seed{seed}'), 0)
    for i, (im_1, im_2) in zip(range(steps), batches):
        if dtype == 'float64':
            im_1, im_2 = im_1.double(), im_2.double()
        mix, perms[:] = draws[i]['mix'], draws[i]['perms']
        # train_step's mixture, with the recorded draw
        images_reverse = torch.flip(im_1, (0,))
        if mix['kind'] == 'global':
            lam = mix['lam']
            mixed = lam * im_1 + (1 - lam) * images_reverse
        else:
            x1, y1, x2, y2 = mix['box']
            mixed = im_1.clone()
            mixed[:, :, x1:x2, y1:y2] = images_reverse[:, :, x1:x2, y1:y2]
            lam = 1 - ((x2 - x1) * (y2 - y1) / (im_1.size()[-1] * im_1.size()[-2]))
        loss = model(im_1, im_2, mixed, torch.flip(mixed, (0,)), lam)
        optimizer.zero_grad()
        loss.backward()
        print(f'py {dtype} step {i + 1}: loss {loss.item()}', flush=True)
        if i == steps - 1:
            torch.save({f'grad.{unmix_name(n)}': p.grad for n, p in model.named_parameters() if p.grad is not None}, out)
        optimizer.step()


def compare(a_path, b_path):
    a, b = torch.load(a_path), torch.load(b_path)
    if sorted(a) != sorted(b):
        raise SystemExit(f'{a_path} and {b_path} hold different parameters: {sorted(set(a) ^ set(b))[:5]}')
    diff2 = ref2 = worst = 0.0
    for k in a:
        d = a[k].double() - b[k].double()
        diff2 += d.pow(2).sum().item()
        ref2 += b[k].double().pow(2).sum().item()
        worst = max(worst, d.norm().item() / max(b[k].double().norm().item(), 1e-300))
    print(f'{os.path.basename(a_path)} vs {os.path.basename(b_path)}: relative L2 {(diff2 / ref2) ** 0.5:.3g} '
          f'(largest per tensor {worst:.3g}, {len(a)} tensors)')


if __name__ == '__main__':
    if sys.argv[1:2] == ['dump'] and len(sys.argv) == 9:
        r, s, w, n, lr, dt, o = sys.argv[2:]
        dump(r, int(s), int(w), int(n), float(lr), dt, o)
    elif sys.argv[1:2] == ['compare'] and len(sys.argv) == 4:
        compare(*sys.argv[2:])
    else:
        raise SystemExit(__doc__)
