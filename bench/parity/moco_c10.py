#!/usr/bin/python3
"""End-to-end Python twin of examples/unmix_c10.ts: the reference's unmix_c10.py loop as written
(szq0214/Un-Mix@0911f77; spec section 2), on an image folder, with unmix's flags.

    /usr/bin/python3 bench/parity/moco_c10.py --data ../shared/data/cifar10-jpeg.tar.gz --width 16 \
        --subset 500 --test-subset 100 --batch-size 128 --lr 0.015 --moco-k 1024 --epochs 10 [--no-unmix]

What is the reference's, unchanged (bench/reference_moco.py holds the copied classes): CIFAR10Pair's
two independent PIL augmentations (RandomResizedCrop(32), flip, RandomApply(ColorJitter(0.4, 0.4, 0.4,
0.1), 0.8), RandomGrayscale(0.2), ToTensor, Normalize), DataLoader(shuffle, drop_last), ModelMoCo
(torchvision ResNet-18 with conv1 replaced after torchvision's init, max pool dropped, SplitBatchNorm,
momentum update before the forward, shuffle-BN, queue), the Un-Mix mixture and loss of train(), SGD
(momentum 0.9, wd on every parameter), adjust_learning_rate with 1-indexed epochs, the kNN monitor of
test() on encoder_q in eval mode after every epoch.

What differs, and why: CPU instead of .cuda(); `--width` narrows every stage (64 = the reference);
seeds are set (torch, numpy, random: the reference sets none); DataLoader workers 0 (the reference:
16; this only moves augmentation to the main process); the subset and the test subset are the
runner's (bench/parity.ts); `--no-unmix` is the MoCo Colab demo the reference was copied from (the
mixture and its two loss terms removed); log.jsonl has unmix's columns.
"""
import argparse
import math
import os
import sys
import time

import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import transforms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import common  # noqa: E402
from reference_moco import ModelMoCo, train_step  # noqa: E402


class CIFAR10Pair(common.ArrayDataset):
    """unmix_c10.py's CIFAR10Pair: the same random transform applied twice, independently."""

    with_index = False  # (exchange) also return the index, for --save-batches

    def __getitem__(self, index):
        from PIL import Image
        img = Image.fromarray(self.data[index])
        im_1 = self.transform(img)
        im_2 = self.transform(img)
        return (im_1, im_2, index) if self.with_index else (im_1, im_2)


train_transform = transforms.Compose([
    transforms.RandomResizedCrop(32),
    transforms.RandomHorizontalFlip(p=0.5),
    transforms.RandomApply([transforms.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
    transforms.RandomGrayscale(p=0.2),
    transforms.ToTensor(),
    transforms.Normalize(common.CIFAR_MEAN, common.CIFAR_STD)])

test_transform = transforms.Compose([
    transforms.ToTensor(),
    transforms.Normalize(common.CIFAR_MEAN, common.CIFAR_STD)])


class LoggedMoCo(ModelMoCo):
    """ModelMoCo whose forward also keeps its loss terms (for log.jsonl), and, with unmix=False, the MoCo
    Colab demo's forward (no mixture). The arithmetic is the reference's."""

    def __init__(self, unmix=True, **kw):
        super().__init__(**kw)
        self.unmix = unmix
        self.terms = {}

    def plain_contrastive_loss(self, im_q, im_k):
        """The Colab demo's contrastive_loss (unmix_c10.py's without the mixed queries)."""
        q = nn.functional.normalize(self.encoder_q(im_q), dim=1)
        with torch.no_grad():
            im_k_, idx_unshuffle = self._batch_shuffle_single_gpu(im_k)
            k = nn.functional.normalize(self.encoder_k(im_k_), dim=1)
            k = self._batch_unshuffle_single_gpu(k, idx_unshuffle)
        l_pos = torch.einsum('nc,nc->n', [q, k]).unsqueeze(-1)
        l_neg = torch.einsum('nc,ck->nk', [q, self.queue.clone().detach()])
        logits = torch.cat([l_pos, l_neg], dim=1) / self.T
        labels = torch.zeros(logits.shape[0], dtype=torch.long)
        return nn.CrossEntropyLoss()(logits, labels), q, k

    def forward(self, im1, im2, im1_mixed=None, im1_mixed_re=None, lam=None):
        with torch.no_grad():
            self._momentum_update_key_encoder()
        t = {}
        if not self.unmix:
            if self.symmetric:
                loss_12, q1, k2 = self.plain_contrastive_loss(im1, im2)
                loss_21, q2, k1 = self.plain_contrastive_loss(im2, im1)
                loss, k = loss_12 + loss_21, torch.cat([k1, k2], dim=0)
                t.update(loss_12=loss_12.item(), loss_21=loss_21.item())
            else:
                loss, q, k = self.plain_contrastive_loss(im1, im2)
                t.update(loss_0=loss.item())
        elif self.symmetric:
            loss_12, q1, k2, loss_m11, loss_m12 = self.contrastive_loss(im1, im2, im1_mixed, im1_mixed_re)
            loss_21, q2, k1, loss_m21, loss_m22 = self.contrastive_loss(im2, im1, im1_mixed, im1_mixed_re)
            loss = loss_12 + loss_21 + lam * loss_m11 + (1 - lam) * loss_m12 + lam * loss_m21 + (1 - lam) * loss_m22
            k = torch.cat([k1, k2], dim=0)
            t.update(loss_12=loss_12.item(), loss_21=loss_21.item(), loss_m11=loss_m11.item(), loss_m12=loss_m12.item(),
                     loss_m21=loss_m21.item(), loss_m22=loss_m22.item(), lam=float(lam))
        else:
            loss_0, q, k, loss_m11, loss_m12 = self.contrastive_loss(im1, im2, im1_mixed, im1_mixed_re)
            loss = loss_0 + lam * loss_m11 + (1 - lam) * loss_m12
            t.update(loss_0=loss_0.item(), loss_m11=loss_m11.item(), loss_m12=loss_m12.item(), lam=float(lam))
        self._dequeue_and_enqueue(k)
        self.terms = t
        return loss


class DrawRecorder:
    """(exchange) Writes every step's random choices as lib/ssl/draws.ts's readMoCoDraws reads them (unmix-draws/1, JSON
    lines): the Un-Mix mixture train_step is about to draw (r, λ, the box, read ahead from numpy's state,
    which is then put back, so the run draws exactly what it would have) and the shuffle-BN permutations
    of _batch_shuffle_single_gpu, in call order."""

    def __init__(self, path, model, args):
        self.file = common.DrawsFile(path, {'method': 'moco', 'batch': args.batch_size, 'symmetric': args.symmetric,
                                            'unmix': args.unmix})
        self.prob, self.beta, self.perms = args.prob, args.beta, []
        shuffle = model._batch_shuffle_single_gpu

        def recording_shuffle(x):
            shuffled, idx_unshuffle = shuffle(x)
            self.perms.append(torch.argsort(idx_unshuffle).tolist())  # idx_shuffle
            return shuffled, idx_unshuffle

        model._batch_shuffle_single_gpu = recording_shuffle

    def peek_mix(self, size):
        return common.peek_mix(self.prob, self.beta, size)

    def step(self, mix):
        self.file.write({'mix': mix, 'perms': self.perms})
        self.perms = []

    def close(self):
        self.file.close()


def plain_train_step(net, train_optimizer, im_1, im_2):
    """The Colab demo's train() body."""
    loss = net(im_1, im_2)
    train_optimizer.zero_grad()
    loss.backward()
    train_optimizer.step()
    return loss.item()


def adjust_learning_rate(optimizer, epoch, args):
    """unmix_c10.py's: epoch is 1-indexed."""
    lr = args.lr
    if args.cos:
        lr *= 0.5 * (1. + math.cos(math.pi * epoch / args.epochs))
    else:
        for milestone in args.schedule:
            lr *= 0.1 if epoch >= milestone else 1.
    for param_group in optimizer.param_groups:
        param_group['lr'] = lr
    return lr


def main(argv=None):
    p = argparse.ArgumentParser(description='Python twin of examples/unmix_c10.ts (the reference unmix_c10.py loop)')
    p.add_argument('-a', '--arch', default='resnet18')
    p.add_argument('--width', type=int, default=64)
    p.add_argument('--lr', type=float, default=0.06)
    p.add_argument('--epochs', type=int, default=1000)
    p.add_argument('--schedule', type=lambda v: [int(x) for x in v.split(',') if x], default=[600, 900])
    p.add_argument('--no-cos', dest='cos', action='store_false')
    p.add_argument('--batch-size', type=int, default=512)
    p.add_argument('--wd', type=float, default=5e-4)
    p.add_argument('--moco-dim', type=int, default=128)
    p.add_argument('--moco-k', type=int, default=4096)
    p.add_argument('--moco-m', type=float, default=0.99)
    p.add_argument('--moco-t', type=float, default=0.1)
    p.add_argument('--bn-splits', type=int, default=8)
    p.add_argument('--no-symmetric', dest='symmetric', action='store_false')
    p.add_argument('--no-unmix', dest='unmix', action='store_false')
    p.add_argument('--prob', type=float, default=0.5)
    p.add_argument('--beta', type=float, default=1.0)
    p.add_argument('--knn-k', type=int, default=200)
    p.add_argument('--knn-t', type=float, default=0.1)
    p.add_argument('--knn-every', type=int, default=1)
    common.add_common_args(p, './UnMix_symmetric_C10')
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    common.seed_everything(args.seed)
    splits = common.open_data(args)
    train_data = CIFAR10Pair(splits['train'], train_transform)
    train_data.with_index = bool(args.save_batches)
    train_loader = DataLoader(train_data, batch_size=args.batch_size, shuffle=True, num_workers=0, drop_last=True)
    memory_loader = DataLoader(common.ArrayDataset(splits['train'], test_transform), batch_size=max(args.batch_size, 256), shuffle=False)
    test_loader = DataLoader(common.ArrayDataset(splits['test'], test_transform), batch_size=max(args.batch_size, 256), shuffle=False)
    classes = len(splits['train'].classes)

    model = LoggedMoCo(unmix=args.unmix, dim=args.moco_dim, K=args.moco_k, m=args.moco_m, T=args.moco_t, arch=args.arch,
                       bn_splits=args.bn_splits, symmetric=args.symmetric, width=args.width)
    if args.init_weights:
        model.load_state_dict(torch.load(args.init_weights))
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.double:
        model.double()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, weight_decay=args.wd, momentum=0.9)
    log = common.RunLog(args.results_dir, args)
    iters_per_epoch = min(len(train_loader), args.iters_per_epoch or len(train_loader))
    recorder = common.BatchRecorder(args.save_batches, iters_per_epoch) if args.save_batches else None
    draws = DrawRecorder(args.save_draws, model, args) if args.save_draws else None
    print(f'python twin: {"MoCo + Un-Mix" if args.unmix else "MoCo"} ({"symmetric" if args.symmetric else "asymmetric"}), '
          f'{args.arch} width {args.width}, {len(train_data)} train / {len(splits["test"])} test images, torch {torch.__version__}, '
          f'{torch.get_num_threads()} threads', flush=True)

    def monitor():
        model.encoder_q.eval()
        embed = (lambda x: model.encoder_q(x.double())) if args.double else model.encoder_q
        return common.knn_monitor(embed, memory_loader, test_loader, classes, args.knn_k, args.knn_t)

    if args.eval_init:
        log.epoch(0, None, monitor(), 0, 0, 0, {})
    for epoch in range(1, args.epochs + 1):
        model.train()  # train(): net.train()
        lr = adjust_learning_rate(optimizer, epoch, args)
        total_loss, total_num, meter, start = 0.0, 0, common.TermMeter(), time.time()
        if recorder:
            recorder.start_epoch(epoch - 1)  # the TS Loader counts epochs from 0
        # (exchange) the TS side's batches, epochs counted from 0
        batches = common.replay_batches(args.replay_batches, epoch - 1) if args.replay_batches else train_loader
        for it, batch in enumerate(batches):
            if it >= iters_per_epoch:
                break
            im_1, im_2 = batch[0], batch[1]
            if recorder:
                recorder.add(batch[2].tolist(), [im_1, im_2])
            if args.double:
                im_1, im_2 = im_1.double(), im_2.double()
            mix = draws.peek_mix(im_1.size()) if draws and args.unmix else None
            if args.unmix:
                loss = train_step(model, optimizer, im_1, im_2, args.prob, args.beta)
            else:
                loss = plain_train_step(model, optimizer, im_1, im_2)
            if draws:
                draws.step(mix)
            total_num += train_loader.batch_size
            total_loss += loss * train_loader.batch_size
            meter.add({'loss': loss, **model.terms}, train_loader.batch_size)
        seconds = time.time() - start
        if recorder:
            recorder.end_epoch()
        acc = monitor() if (epoch % args.knn_every == 0 or epoch == args.epochs) else None
        log.epoch(epoch, total_loss / max(1, total_num), acc, lr, seconds, total_num, meter.means())
    if draws:
        draws.close()


if __name__ == '__main__':
    main()
