#!/usr/bin/python3
"""End-to-end Python twin of examples/unmix_swav_c10.ts: the reference's UnMix_SwAV/for_CIFAR
main_swav_unmix.py loop (szq0214/Un-Mix@0911f77; spec section 3), on an image folder, with the
reference's flags (plus unmix's --width, --knn-*, --subset, --seed, --results-dir).

    /usr/bin/python3 bench/parity/swav_c10.py --data ../shared/data/cifar10-jpeg.tar.gz --width 16 \
        --subset 500 --test-subset 100 --epochs 10 --nmb_prototypes 30 --freeze_prototypes_niters 39 \
        --warmup_epochs 1 --knn-every 1 [--run_swav]

The reference's pieces, unchanged: train()'s body, swav_loss, the old Sinkhorn with shoot_infs and
apex's LARC are test/fixtures/make_swav_fixtures.py's copies (imported, run literally: float32,
the Sinkhorn's final .float()); MultiCropDataset's CIFAR crops (RandomResizedCrop(32, scale (0.14, 1)),
flip, get_color_distortion(s=0.5) = RandomApply(ColorJitter(0.4, 0.4, 0.4, 0.1), 0.8) + RandomGrayscale
(0.2), ToTensor, Normalize); src/resnet50.py's Bottleneck "resnet18" (ConstantPad2d(1) + 3x3 stem, no
max pool, head Linear → BatchNorm1d → ReLU → Linear, L2 norm, prototypes; its init); SGD(0.9, wd) in
LARC(0.001, clip=False); the per-iteration warmup (np.linspace) + cosine schedule; the queue rule
(queue_length -= queue_length % batch: 120 → 0 at batch 128); DistributedSampler order (world size 1,
set_epoch); fix_random_seeds(seed).

What differs, and why: one process on the CPU (no DDP, SyncBatchNorm of one process = BatchNorm2d);
no apex AMP (float32, as unmix on the CPU); `--width` sets the stem and stage widths (64 = the
reference's width_per_group·widen, with the Bottleneck inner width = planes as there); workers 0;
the subset is the runner's; and a kNN monitor (unmix_c10.py's test()/knn_predict on the pooled
backbone features, model in eval mode) after each epoch, as the TS example's --knn-every, since the
reference evaluates SwAV only by a linear probe after pre-training.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler
from torchvision import transforms
from torchvision.models.resnet import Bottleneck, ResNet as TvResNet

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', '..', 'test', 'fixtures'))
import common  # noqa: E402
import make_swav_fixtures as ref  # noqa: E402  the copies of main_swav_unmix.py and apex's LARC


class SwavResNet(TvResNet):
    """src/resnet50.py's ResNet(Bottleneck, [2, 2, 2, 2]) for CIFAR with `width` channels after the stem."""

    def __init__(self, width=64, layers=(2, 2, 2, 2), normalize=True, output_dim=128, hidden_mlp=512, nmb_prototypes=100):
        nn.Module.__init__(self)
        block, norm_layer = Bottleneck, nn.BatchNorm2d
        self._norm_layer = norm_layer
        self.padding = nn.ConstantPad2d(1, 0.0)
        self.inplanes, self.dilation, self.groups, self.base_width = width, 1, 1, 64
        num_out_filters = width
        self.conv1 = nn.Conv2d(3, num_out_filters, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = norm_layer(num_out_filters)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(block, num_out_filters, layers[0])
        num_out_filters *= 2
        self.layer2 = self._make_layer(block, num_out_filters, layers[1], stride=2)
        num_out_filters *= 2
        self.layer3 = self._make_layer(block, num_out_filters, layers[2], stride=2)
        num_out_filters *= 2
        self.layer4 = self._make_layer(block, num_out_filters, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.l2norm = normalize
        self.projection_head = nn.Sequential(
            nn.Linear(num_out_filters * block.expansion, hidden_mlp),
            nn.BatchNorm1d(hidden_mlp),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_mlp, output_dim),
        )
        self.prototypes = nn.Linear(output_dim, nmb_prototypes, bias=False)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward_backbone(self, x):
        x = self.padding(x)
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def forward_head(self, x):
        x = self.projection_head(x)
        if self.l2norm:
            x = nn.functional.normalize(x, dim=1, p=2)
        return x, self.prototypes(x)

    def forward(self, inputs):
        if not isinstance(inputs, list):
            inputs = [inputs]
        idx_crops = torch.cumsum(torch.unique_consecutive(torch.tensor([inp.shape[-1] for inp in inputs]), return_counts=True)[1], 0)
        start_idx = 0
        for end_idx in idx_crops:
            _out = self.forward_backbone(torch.cat(inputs[start_idx: end_idx]))
            output = _out if start_idx == 0 else torch.cat((output, _out))
            start_idx = end_idx
        return self.forward_head(output)


class MultiCropDataset(common.ArrayDataset):
    """src/multicropdataset.py's CIFAR MultiCropDataset over an ImageSplit."""

    def __init__(self, split, size_crops, nmb_crops, min_scale_crops, max_scale_crops):
        color_transform = [get_color_distortion(s=0.5)]
        trans = []
        for i in range(len(size_crops)):
            randomresizedcrop = transforms.RandomResizedCrop(size_crops[i], scale=(min_scale_crops[i], max_scale_crops[i]))
            trans.extend([transforms.Compose([
                randomresizedcrop,
                transforms.RandomHorizontalFlip(p=0.5),
                transforms.Compose(color_transform),
                transforms.ToTensor(),
                transforms.Normalize(mean=common.CIFAR_MEAN, std=common.CIFAR_STD)])
            ] * nmb_crops[i])
        super().__init__(split, None)
        self.trans = trans

    def __getitem__(self, index):
        from PIL import Image
        image = Image.fromarray(self.data[index])
        return list(map(lambda trans: trans(image), self.trans))


class DrawRecorder:
    """(exchange) Writes every step's Un-Mix choices as lib/ssl/draws.ts's readSwavDraws reads them (unmix-draws/1,
    JSON lines): r and λ read ahead from numpy's state before train_step (then put back, so the step draws
    exactly what it would have), and the boxes rand_bbox drew in the step (the reference's boxes_seen)."""

    def __init__(self, path, args):
        crops = [size for n, size in zip(args.nmb_crops, args.size_crops) for _ in range(n)]
        self.file = common.DrawsFile(path, {'method': 'swav', 'batch': args.batch_size, 'unmix': not args.run_swav,
                                            'crops': crops})
        self.args = args

    def peek(self):
        return None if self.args.run_swav else common.peek_mix(self.args.unmix_prob, self.args.unmix_beta)

    def step(self, mix, boxes):
        self.file.write({'mix': mix if mix is None or mix['kind'] == 'global' else {**mix, 'boxes': boxes}})

    def close(self):
        self.file.close()


def get_color_distortion(s=1.0):
    color_jitter = transforms.ColorJitter(0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s)
    rnd_color_jitter = transforms.RandomApply([color_jitter], p=0.8)
    rnd_gray = transforms.RandomGrayscale(p=0.2)
    return transforms.Compose([rnd_color_jitter, rnd_gray])


def ints(v):
    return [int(x) for x in v.split(',')]


def floats(v):
    return [float(x) for x in v.split(',')]


def main(argv=None):
    p = argparse.ArgumentParser(description='Python twin of examples/unmix_swav_c10.ts (the reference main_swav_unmix.py loop)')
    p.add_argument('--width', type=int, default=64)
    p.add_argument('--hidden_mlp', type=int, default=512)
    p.add_argument('--feat_dim', type=int, default=128)
    p.add_argument('--nmb_prototypes', type=int, default=100)
    p.add_argument('--nmb_crops', type=ints, default=[2])
    p.add_argument('--size_crops', type=ints, default=[32])
    p.add_argument('--min_scale_crops', type=floats, default=[0.14])
    p.add_argument('--max_scale_crops', type=floats, default=[1.0])
    p.add_argument('--crops_for_assign', type=ints, default=[0, 1])
    p.add_argument('--temperature', type=float, default=0.1)
    p.add_argument('--epsilon', type=float, default=0.05)
    p.add_argument('--sinkhorn_iterations', type=int, default=3)
    p.add_argument('--queue_length', type=int, default=120)
    p.add_argument('--epoch_queue_starts', type=int, default=15)
    p.add_argument('--epochs', type=int, default=400)
    p.add_argument('--batch_size', type=int, default=128)
    p.add_argument('--base_lr', type=float, default=0.6)
    p.add_argument('--final_lr', type=float, default=0.0006)
    p.add_argument('--freeze_prototypes_niters', type=int, default=5005)
    p.add_argument('--wd', type=float, default=1e-6)
    p.add_argument('--warmup_epochs', type=int, default=5)
    p.add_argument('--start_warmup', type=float, default=0)
    p.add_argument('--unmix_prob', type=float, default=0.5)
    p.add_argument('--unmix_beta', type=float, default=1.0)
    p.add_argument('--run_swav', action='store_true')
    p.add_argument('--knn-every', type=int, default=1)
    p.add_argument('--knn-k', type=int, default=200)
    p.add_argument('--knn-t', type=float, default=0.1)
    common.add_common_args(p, './exp/unmix_swav_c10')
    args = p.parse_args(argv)
    args.world_size, args.improve_numerical_stability = 1, False
    # float32: the old Sinkhorn's final .float() as written; --double keeps float64 there
    ref.args, ref.OLD, ref.KEEP_DTYPE, ref.PAPER_FLIP = args, True, args.double, False

    torch.set_num_threads(args.threads)
    common.seed_everything(args.seed)  # fix_random_seeds(args.seed)
    splits = common.open_data(args)
    train_dataset = MultiCropDataset(splits['train'], args.size_crops, args.nmb_crops, args.min_scale_crops, args.max_scale_crops)
    sampler = DistributedSampler(train_dataset, num_replicas=1, rank=0)
    train_loader = DataLoader(train_dataset, sampler=sampler, batch_size=args.batch_size, num_workers=0, drop_last=True)
    test_transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(common.CIFAR_MEAN, common.CIFAR_STD)])
    memory_loader = DataLoader(common.ArrayDataset(splits['train'], test_transform), batch_size=256, shuffle=False)
    test_loader = DataLoader(common.ArrayDataset(splits['test'], test_transform), batch_size=256, shuffle=False)
    classes = len(splits['train'].classes)

    model = SwavResNet(width=args.width, normalize=True, output_dim=args.feat_dim, hidden_mlp=args.hidden_mlp, nmb_prototypes=args.nmb_prototypes)
    if args.init_weights:
        model.load_state_dict(torch.load(args.init_weights))
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.double:
        model.double()
    ref.model = model
    optimizer = torch.optim.SGD(model.parameters(), lr=args.base_lr, momentum=0.9, weight_decay=args.wd)
    optimizer = ref.LARC(optimizer=optimizer, trust_coefficient=0.001, clip=False)
    iters_per_epoch = min(len(train_loader), args.iters_per_epoch or len(train_loader))
    warmup_lr_schedule = np.linspace(args.start_warmup, args.base_lr, iters_per_epoch * args.warmup_epochs)
    iters = np.arange(iters_per_epoch * (args.epochs - args.warmup_epochs))
    cosine_lr_schedule = np.array([args.final_lr + 0.5 * (args.base_lr - args.final_lr) * (1 + math.cos(math.pi * t / (iters_per_epoch * (args.epochs - args.warmup_epochs)))) for t in iters])
    lr_schedule = np.concatenate((warmup_lr_schedule, cosine_lr_schedule))
    args.queue_length -= args.queue_length % (args.batch_size * args.world_size)
    queue = None
    log = common.RunLog(args.results_dir, args)
    recorder = common.BatchRecorder(args.save_batches, iters_per_epoch) if args.save_batches else None
    draws = DrawRecorder(args.save_draws, args) if args.save_draws else None
    print(f'python twin: {"SwAV" if args.run_swav else "SwAV + Un-Mix"}, resnet18 (bottleneck) width {args.width}, {len(train_dataset)} train / '
          f'{len(splits["test"])} test images, torch {torch.__version__}, {torch.get_num_threads()} threads', flush=True)

    def monitor():
        model.eval()
        embed = (lambda x: model.forward_backbone(x.double())) if args.double else model.forward_backbone
        return common.knn_monitor(embed, memory_loader, test_loader, classes, args.knn_k, args.knn_t)

    if args.eval_init:
        log.epoch(0, None, monitor(), 0, 0, 0, {})
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        if args.queue_length > 0 and epoch >= args.epoch_queue_starts and queue is None:
            queue = torch.zeros(len(args.crops_for_assign), args.queue_length // args.world_size, args.feat_dim,
                                dtype=torch.float64 if args.double else torch.float32)
        model.train()
        use_the_queue, meter, start, total = False, common.TermMeter(), time.time(), 0
        if recorder:
            recorder.start_epoch(epoch)
            order = list(iter(sampler))  # the indices the loader's batches take, in order
        batches = common.replay_batches(args.replay_batches, epoch) if args.replay_batches else train_loader
        for it, inputs in enumerate(batches):
            if it >= iters_per_epoch:
                break
            if recorder:
                recorder.add(order[it * args.batch_size:(it + 1) * args.batch_size], inputs)
            if args.double:
                inputs = [x.double() for x in inputs]
            iteration = epoch * iters_per_epoch + it
            ref.boxes_seen = []
            lr = lr_schedule[iteration]
            peeked = draws.peek() if draws else None
            terms, _, queue, use_the_queue = ref.train_step(inputs, model, optimizer, iteration, lr, queue, use_the_queue)
            if draws:
                draws.step(peeked, ref.boxes_seen)
            n = inputs[0].size(0)
            meter.add(terms, n)
            total += n
        seconds = time.time() - start
        if recorder:
            recorder.end_epoch()
        e = epoch + 1
        acc = monitor() if (args.knn_every > 0 and (e % args.knn_every == 0 or e == args.epochs)) else None
        means = meter.means()
        log.epoch(e, means.get('loss'), acc, float(lr), seconds, total, means)
    if draws:
        draws.close()


if __name__ == '__main__':
    main()
