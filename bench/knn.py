#!/usr/bin/python3
"""Python twin of bench/cases/knn.ts: unmix_c10.py's test() without the network. The bank and query
features come from the files the TypeScript side wrote; in batches, each is normalized, the bank is
stacked to [D, N], and knn_predict gives the top-1 accuracy. Each measure: one whole pass, answered as
{"ms": ..., "acc1": top-1 accuracy in percent}.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

from reference_moco import knn_predict
from twin import serve, time_ms


def setup(config):
    device, size = config['device'], int(config['batch'])
    read = lambda name, dtype, shape: torch.from_numpy(np.fromfile(os.path.join(config['dir'], name + '.bin'), dtype=dtype).reshape(shape)).to(device)
    bank = read('bank', np.float32, (config['bank'], config['dim']))
    bank_labels = read('bankLabels', np.int64, (config['bank'],))
    queries = read('queries', np.float32, (config['queries'], config['dim']))
    query_labels = read('queryLabels', np.int64, (config['queries'],))
    memory = [(bank[s:s + size], bank_labels[s:s + size]) for s in range(0, len(bank), size)]
    test = [(queries[s:s + size], query_labels[s:s + size]) for s in range(0, len(queries), size)]
    result = {}

    def monitor():
        total_top1, total_num, feature_bank, targets = 0.0, 0, [], []
        with torch.no_grad():
            for feature, target in memory:
                feature_bank.append(F.normalize(feature, dim=1))
                targets.append(target)
            feature_bank = torch.cat(feature_bank, dim=0).t().contiguous()  # [D, N]
            feature_labels = torch.cat(targets)  # the reference: torch.tensor(dataset.targets, device=...)
            for feature, target in test:
                feature = F.normalize(feature, dim=1)
                pred_labels = knn_predict(feature, feature_bank, feature_labels, config['classes'], config['k'], config['t'])
                total_num += feature.size(0)
                total_top1 += (pred_labels[:, 0] == target).float().sum().item()
        result['acc1'] = total_top1 / total_num * 100

    def measure():
        ms = time_ms(device, monitor)
        return {'ms': ms, 'acc1': result['acc1']}

    return measure, {}


if __name__ == '__main__':
    serve(setup)
