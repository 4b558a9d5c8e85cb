"""What the end-to-end Python twins (moco_c10.py, swav_c10.py) share: the data, the kNN monitor,
the log files and the flags that are not the method's.

Data: an image folder (`train/<class>/*.jpg`, `test/<class>/*.jpg`, torchvision ImageFolder order:
sorted classes, sorted files) as a folder or a .tar/.tar.gz, decoded with PIL's convert('RGB') into a
uint8 [N, 32, 32, 3] array, as torchvision's CIFAR10 holds `data` (the reference datasets index that
array and call Image.fromarray). Per-class subsets are read from a JSON file of indices the runner
(bench/parity.ts) takes from unmix's own subsetIndices, so both sides train on the same images; the
SHA-256 of the chosen pixels (NCHW uint8, as unmix holds them) is checked against the runner's.

Logs: log.jsonl with unmix's trainer columns (epoch, train_loss, test_acc@1, lr, seconds,
images_per_s, terms), log.csv as the reference's pandas writes it, args.json.
"""
import argparse
import hashlib
import io
import json
import math
import os
import random
import tarfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from reference_moco import knn_predict, rand_bbox  # noqa: E402  unmix_c10.py's knn_predict and utils.rand_bbox

CIFAR_MEAN = [0.4914, 0.4822, 0.4465]
CIFAR_STD = [0.2023, 0.1994, 0.2010]


def add_common_args(parser, results_dir):
    parser.add_argument('--data', required=True, help='image folder (train/, test/ of class folders) as a folder, .tar or .tar.gz')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--results-dir', default=results_dir)
    parser.add_argument('--subset', type=int, help='images per class (with --indices: checked against it)')
    parser.add_argument('--test-subset', type=int, help='test images per class (with --indices: checked against it)')
    parser.add_argument('--indices', help='JSON {"train": [...], "test": [...], "train_sha256", "test_sha256"} from bench/parity.ts')
    parser.add_argument('--eval-init', action='store_true', help='also run the monitor before training (log.jsonl epoch 0)')
    parser.add_argument('--iters-per-epoch', type=int, help='stop each epoch after n iterations (tiny checks)')
    parser.add_argument('--threads', type=int, default=int(os.environ.get('UNMIX_NUM_THREADS') or 1), help='torch intra-op threads (default UNMIX_NUM_THREADS or 1)')
    parser.add_argument('--init-weights', help='(exchange) load these initial weights (torch.save of a state dict) before training')
    parser.add_argument('--save-init', help='(exchange) save the initial weights (state dict) here')
    parser.add_argument('--save-batches', help='(exchange) record every augmented training batch in this folder, for the TS side\'s --replay-batches')
    parser.add_argument('--replay-batches', help='(exchange) train on the batches the TS side recorded here (--record-batches) instead of augmenting')
    parser.add_argument('--save-draws', help="(exchange) write every step's random choices here (unmix-draws/1), for the TS side's --replay-draws")
    parser.add_argument('--double', action='store_true', help="(exchange) float64 model and inputs: no float32 rounding, as the TS side's --dtype float64")
    return parser


def seed_everything(seed):
    """What the SwAV reference's fix_random_seeds does (torch, numpy), plus Python's random."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


# ---------------- data ----------------

def _read_members(path):
    """{relative path: bytes} of every file of an image folder given as a folder, .tar or .tar.gz."""
    files = {}
    if os.path.isdir(path):
        for dirpath, _, names in os.walk(path):
            for n in names:
                full = os.path.join(dirpath, n)
                with open(full, 'rb') as f:
                    files[os.path.relpath(full, path)] = f.read()
        return files
    with tarfile.open(path, 'r:*') as tar:
        for m in tar:
            if m.isfile():
                files[m.name.lstrip('./')] = tar.extractfile(m).read()
    return files


class ImageSplit:
    """A split as torchvision's CIFAR10 holds it: data uint8 [N, H, W, 3], targets, classes."""

    def __init__(self, data, targets, classes):
        self.data, self.targets, self.classes = data, list(targets), classes

    def __len__(self):
        return len(self.targets)


def load_splits(path, indices):
    """The train and test splits (ImageFolder order), only the images `indices[split]` names (all if None)."""
    files = _read_members(path)
    out = {}
    for split in ('train', 'test'):
        entries = sorted((k.split('/')[1], k.split('/')[2], k) for k in files if k.startswith(split + '/') and k.count('/') == 2)
        classes = sorted({c for c, _, _ in entries})
        entries.sort(key=lambda e: (e[0], e[1]))
        chosen = indices.get(split) if indices else None
        chosen = range(len(entries)) if chosen is None else chosen
        data = np.stack([np.asarray(Image.open(io.BytesIO(files[entries[i][2]])).convert('RGB')) for i in chosen])
        targets = [classes.index(entries[i][0]) for i in chosen]
        out[split] = ImageSplit(data, targets, classes)
    return out


def pixels_sha256(split):
    return hashlib.sha256(np.ascontiguousarray(split.data.transpose(0, 3, 1, 2)).tobytes()).hexdigest()


def open_data(args):
    indices = None
    if args.indices:
        with open(args.indices) as f:
            indices = json.load(f)
    splits = load_splits(args.data, indices)
    for split, per_class in (('train', args.subset), ('test', args.test_subset)):
        s = splits[split]
        if per_class and len(s) != per_class * len(s.classes):
            raise ValueError(f'{split}: {len(s)} images, expected {per_class} per class')
        want = indices.get(split + '_sha256') if indices else None
        if want and pixels_sha256(s) != want:
            raise ValueError(f'{split}: the decoded pixels differ from unmix\'s (SHA-256 {pixels_sha256(s)} vs {want})')
    return splits


class ArrayDataset(torch.utils.data.Dataset):
    """torchvision CIFAR10's __getitem__ over an ImageSplit: Image.fromarray, transform, (img, target)."""

    def __init__(self, split, transform):
        self.data, self.targets, self.classes, self.transform = split.data, split.targets, split.classes, transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        img = Image.fromarray(self.data[index])
        return self.transform(img), self.targets[index]


# ---------------- kNN monitor (unmix_c10.py's test(), without tqdm) ----------------

def knn_monitor(embed, memory_loader, test_loader, classes, knn_k, knn_t):
    """unmix_c10.py's test() on `embed` (the caller switches eval/train): top-1 in percent."""
    total_top1, total_num, feature_bank, targets = 0.0, 0, [], []
    with torch.no_grad():
        for data, target in memory_loader:
            feature = F.normalize(embed(data), dim=1)
            feature_bank.append(feature)
            targets.append(target)
        feature_bank = torch.cat(feature_bank, dim=0).t().contiguous()
        feature_labels = torch.cat(targets)  # the reference: torch.tensor(memory_data_loader.dataset.targets)
        for data, target in test_loader:
            feature = F.normalize(embed(data), dim=1)
            pred_labels = knn_predict(feature, feature_bank, feature_labels, classes, knn_k, knn_t)
            total_num += data.size(0)
            total_top1 += (pred_labels[:, 0] == target).float().sum().item()
    return total_top1 / total_num * 100


# ---------------- logs ----------------

class RunLog:
    """log.jsonl / log.csv / args.json in the results folder, rewritten after each epoch."""

    def __init__(self, results_dir, args):
        self.dir = results_dir
        os.makedirs(results_dir, exist_ok=True)
        self.history = []
        with open(os.path.join(results_dir, 'args.json'), 'w') as f:
            json.dump({**vars(args), 'side': 'python', 'torch': torch.__version__, 'threads': torch.get_num_threads()}, f, indent=2)

    def epoch(self, epoch, train_loss, acc, lr, seconds, images, terms):
        clean = lambda v: None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v
        record = {'epoch': epoch, 'train_loss': clean(train_loss), 'test_acc@1': clean(acc), 'lr': lr, 'seconds': seconds,
                  'images_per_s': images / max(seconds, 1e-9), 'terms': terms}
        self.history.append(record)
        with open(os.path.join(self.dir, 'log.jsonl'), 'w') as f:
            f.write(''.join(json.dumps(r) + '\n' for r in self.history))
        rows = [r for r in self.history if r['epoch'] > 0]
        with open(os.path.join(self.dir, 'log.csv'), 'w') as f:
            f.write('epoch,train_loss,test_acc@1\n' + ''.join(f"{r['epoch']},{r['train_loss']},{'' if r['test_acc@1'] is None else r['test_acc@1']}\n" for r in rows))
        print(f"epoch {epoch}: loss {train_loss if train_loss is not None else float('nan'):.4f}, test acc@1 {acc if acc is not None else float('nan'):.2f}%, "
              f"lr {lr:.4g}, {record['images_per_s']:.0f} images/s, {seconds:.1f} s", flush=True)


class DrawsFile:
    """(exchange) A recording of step draws as lib/ssl/draws.ts reads it (unmix-draws/1, JSON lines): the
    header, then one line per step. The twins' DrawRecorders fill it."""

    def __init__(self, path, header):
        self.file = open(path, 'w')
        self.write({'format': 'unmix-draws/1', **header})

    def write(self, record):
        self.file.write(json.dumps(record) + '\n')

    def close(self):
        self.file.close()


def peek_mix(prob, beta, size=None):
    """(exchange) The Un-Mix mixture a reference train_step is about to draw, read ahead from numpy's state, which
    is then put back (the step still draws it): r and λ (np.random.rand(1), then np.random.beta), and with the
    images' `size`, a region's box (rand_bbox). As draws.ts reads it: {kind: 'global', lam} or {kind: 'region',
    lam[, box]}."""
    state = np.random.get_state()
    r, lam = np.random.rand(1), np.random.beta(beta, beta)
    box = [int(v) for v in rand_bbox(size, lam)] if size is not None and r >= prob else None
    np.random.set_state(state)
    if r < prob:
        return {'kind': 'global', 'lam': float(lam)}
    return {'kind': 'region', 'lam': float(lam), **({'box': box} if box else {})}


class BatchRecorder:
    """(exchange) Records each training batch as lib/data/replay.ts reads it: per epoch e, epoch-<e>.bin holds
    one record per iteration (int32 dataset indices [B], then each view float32 [B, C, H, W], little-endian);
    batches.json lists the finished epochs, so a run cut short leaves no half-written epoch behind."""

    def __init__(self, folder, iters_per_epoch):
        os.makedirs(folder, exist_ok=True)
        self.folder, self.iters_per_epoch, self.epochs, self.meta, self.file = folder, iters_per_epoch, [], None, None

    def start_epoch(self, epoch):
        self.epoch, self.count = epoch, 0
        self.file = open(os.path.join(self.folder, f'epoch-{epoch}.bin'), 'wb')

    def add(self, indices, views):
        meta = {'views': len(views), 'batch': int(views[0].shape[0]), 'shape': list(views[0].shape[1:])}
        if self.meta is None:
            self.meta = meta
        elif meta != self.meta or len(indices) != meta['batch']:
            raise ValueError(f'BatchRecorder: a batch of {meta} after {self.meta}')
        self.file.write(np.asarray(indices, dtype='<i4').tobytes())
        for v in views:
            self.file.write(v.detach().contiguous().numpy().astype('<f4').tobytes())
        self.count += 1

    def end_epoch(self):
        self.file.close()
        if self.count != self.iters_per_epoch:
            raise ValueError(f'BatchRecorder: epoch {self.epoch} has {self.count} batches, not {self.iters_per_epoch}')
        self.epochs.append(self.epoch)
        with open(os.path.join(self.folder, 'batches.json'), 'w') as f:
            json.dump({'format': 'unmix-batches/1', **self.meta, 'itersPerEpoch': self.iters_per_epoch, 'epochs': self.epochs}, f)


def replay_batches(folder, epoch):
    """(exchange) The batches BatchRecorder's format holds for `epoch` (as lib/data/replay.ts's RecordingLoader
    writes them): a list of float32 [B, C, H, W] views per batch, as the DataLoader of MultiCropDataset yields."""
    with open(os.path.join(folder, 'batches.json')) as f:
        meta = json.load(f)
    if meta.get('format') != 'unmix-batches/1' or epoch not in meta['epochs']:
        raise ValueError(f'{folder}: epoch {epoch} is not recorded there ({meta.get("epochs")})')
    views, batch, shape = meta['views'], meta['batch'], meta['shape']
    per_view = batch * int(np.prod(shape))
    record = 4 * (batch + views * per_view)
    path = os.path.join(folder, f'epoch-{epoch}.bin')
    if os.path.getsize(path) != record * meta['itersPerEpoch']:
        raise ValueError(f'{path}: {os.path.getsize(path)} bytes, not {meta["itersPerEpoch"]} records of {record}')
    with open(path, 'rb') as f:
        for _ in range(meta['itersPerEpoch']):
            data = f.read(record)
            pixels = np.frombuffer(data, dtype='<f4', offset=4 * batch)
            yield [torch.from_numpy(pixels[v * per_view:(v + 1) * per_view].copy()).view(batch, *shape) for v in range(views)]


class TermMeter:
    """Image-weighted means of the logged terms over an epoch (as unmix's trainer)."""

    def __init__(self):
        self.sums, self.n, self.start = {}, 0, time.time()

    def add(self, terms, n):
        for k, v in terms.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v) * n
        self.n += n

    def means(self):
        return {k: v / max(1, self.n) for k, v in self.sums.items()}
