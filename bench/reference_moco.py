"""The reference MoCo CIFAR demo with Un-Mix (szq0214/Un-Mix unmix_c10.py and utils.py; spec sections
2.2-2.5 and 5), copied for the Python twins of the benchmarks. Changes: `.cuda()` becomes the
benchmark's device, and `width` (64 = the reference) narrows every stage of the ResNet.
"""
import os
import sys
from functools import partial

import numpy as np
import torch
import torch.nn as nn
from torchvision.models import resnet


# unmix_c10.py's SplitBatchNorm (from cifar10-fast), the one copy the test fixtures also use
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures'))
from split_batch_norm import SplitBatchNorm  # noqa: E402


ARCHS = {'resnet18': (resnet.BasicBlock, [2, 2, 2, 2]), 'resnet34': (resnet.BasicBlock, [3, 4, 6, 3]),
         'resnet50': (resnet.Bottleneck, [3, 4, 6, 3])}


class NarrowResNet(resnet.ResNet):
    """torchvision's ResNet with `width` channels after the stem instead of 64 (stages: width·2^i)."""

    def __init__(self, arch, width, num_classes, norm_layer):
        nn.Module.__init__(self)
        block, layers = ARCHS[arch]
        self._norm_layer = norm_layer
        self.inplanes, self.dilation, self.groups, self.base_width = width, 1, 1, 64
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)
        for m in self.modules():  # torchvision's init
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)


class ModelBase(nn.Module):
    """unmix_c10.py's ModelBase: conv1 replaced by a 3x3/1 conv, no max pool, Flatten before fc."""

    def __init__(self, feature_dim=128, arch=None, bn_splits=16, width=64):
        super(ModelBase, self).__init__()
        norm_layer = partial(SplitBatchNorm, num_splits=bn_splits) if bn_splits > 1 else nn.BatchNorm2d
        if width == 64:
            net = getattr(resnet, arch)(num_classes=feature_dim, norm_layer=norm_layer)
        else:
            net = NarrowResNet(arch, width, feature_dim, norm_layer)
        self.net = []
        for name, module in net.named_children():
            if name == 'conv1':
                module = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
            if isinstance(module, nn.MaxPool2d):
                continue
            if isinstance(module, nn.Linear):
                self.net.append(nn.Flatten(1))
            self.net.append(module)
        self.net = nn.Sequential(*self.net)

    def forward(self, x):
        return self.net(x)  # not normalized here


class ModelMoCo(nn.Module):
    """unmix_c10.py's ModelMoCo (Un-Mix contrastive loss, shuffle-BN emulation, queue)."""

    def __init__(self, dim=128, K=4096, m=0.99, T=0.1, arch='resnet18', bn_splits=8, symmetric=True, width=64, device='cpu'):
        super(ModelMoCo, self).__init__()
        self.K, self.m, self.T, self.symmetric, self.device = K, m, T, symmetric, device
        self.encoder_q = ModelBase(feature_dim=dim, arch=arch, bn_splits=bn_splits, width=width)
        self.encoder_k = ModelBase(feature_dim=dim, arch=arch, bn_splits=bn_splits, width=width)
        for param_q, param_k in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
            param_k.data.copy_(param_q.data)  # initialize
            param_k.requires_grad = False  # not update by gradient
        self.register_buffer("queue", torch.randn(dim, K))
        self.queue = nn.functional.normalize(self.queue, dim=0)
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))

    @torch.no_grad()
    def _momentum_update_key_encoder(self):
        for param_q, param_k in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
            param_k.data = param_k.data * self.m + param_q.data * (1. - self.m)

    @torch.no_grad()
    def _dequeue_and_enqueue(self, keys):
        batch_size = keys.shape[0]
        ptr = int(self.queue_ptr)
        assert self.K % batch_size == 0  # for simplicity
        self.queue[:, ptr:ptr + batch_size] = keys.t()  # transpose
        ptr = (ptr + batch_size) % self.K  # move pointer
        self.queue_ptr[0] = ptr

    @torch.no_grad()
    def _batch_shuffle_single_gpu(self, x):
        idx_shuffle = torch.randperm(x.shape[0]).to(self.device)
        idx_unshuffle = torch.argsort(idx_shuffle)
        return x[idx_shuffle], idx_unshuffle

    @torch.no_grad()
    def _batch_unshuffle_single_gpu(self, x, idx_unshuffle):
        return x[idx_unshuffle]

    def contrastive_loss(self, im_q, im_k, im1_mixed, im1_mixed_re):
        q = self.encoder_q(im_q)  # queries: NxC
        q = nn.functional.normalize(q, dim=1)
        q_mixed = self.encoder_q(im1_mixed)
        # alternative implementation: q_mixed_flip = self.encoder_q(im1_mixed_re)
        q_mixed_flip = torch.flip(q_mixed, (0,))
        q_mixed = nn.functional.normalize(q_mixed, dim=1)
        q_mixed_flip = nn.functional.normalize(q_mixed_flip, dim=1)

        with torch.no_grad():  # no gradient to keys
            im_k_, idx_unshuffle = self._batch_shuffle_single_gpu(im_k)
            k = self.encoder_k(im_k_)  # keys: NxC
            k = nn.functional.normalize(k, dim=1)
            k = self._batch_unshuffle_single_gpu(k, idx_unshuffle)

        l_pos = torch.einsum('nc,nc->n', [q, k]).unsqueeze(-1)
        l_pos_m = torch.einsum('nc,nc->n', [q_mixed, k]).unsqueeze(-1)
        l_pos_m_flip = torch.einsum('nc,nc->n', [q_mixed_flip, k]).unsqueeze(-1)
        l_neg = torch.einsum('nc,ck->nk', [q, self.queue.clone().detach()])
        l_neg_m = torch.einsum('nc,ck->nk', [q_mixed, self.queue.clone().detach()])
        l_neg_m_flip = torch.einsum('nc,ck->nk', [q_mixed_flip, self.queue.clone().detach()])
        logits = torch.cat([l_pos, l_neg], dim=1)
        logits_m = torch.cat([l_pos_m, l_neg_m], dim=1)
        logits_m_flip = torch.cat([l_pos_m_flip, l_neg_m_flip], dim=1)
        logits /= self.T
        logits_m /= self.T
        logits_m_flip /= self.T
        labels = torch.zeros(logits.shape[0], dtype=torch.long).to(self.device)
        loss = nn.CrossEntropyLoss().to(self.device)(logits, labels)
        loss_m1 = nn.CrossEntropyLoss().to(self.device)(logits_m, labels)
        loss_m2 = nn.CrossEntropyLoss().to(self.device)(logits_m_flip, labels)
        return loss, q, k, loss_m1, loss_m2

    def forward(self, im1, im2, im1_mixed, im1_mixed_re, lam):
        with torch.no_grad():  # no gradient to keys
            self._momentum_update_key_encoder()
        if self.symmetric:  # symmetric loss
            loss_12, q1, k2, loss_m11, loss_m12 = self.contrastive_loss(im1, im2, im1_mixed, im1_mixed_re)
            loss_21, q2, k1, loss_m21, loss_m22 = self.contrastive_loss(im2, im1, im1_mixed, im1_mixed_re)
            loss = loss_12 + loss_21 + lam * loss_m11 + (1 - lam) * loss_m12 + lam * loss_m21 + (1 - lam) * loss_m22
            k = torch.cat([k1, k2], dim=0)
        else:  # asymmetric loss
            loss_0, q, k, loss_m11, loss_m12 = self.contrastive_loss(im1, im2, im1_mixed, im1_mixed_re)
            loss = loss_0 + lam * loss_m11 + (1 - lam) * loss_m12
        self._dequeue_and_enqueue(k)
        return loss


def rand_bbox(size, lam):
    """utils.rand_bbox (np.int, gone from NumPy 1.24, written as int)."""
    W = size[2]
    H = size[3]
    cut_rat = np.sqrt(1. - lam)
    cut_w = int(W * cut_rat)
    cut_h = int(H * cut_rat)
    cx = np.random.randint(W)
    cy = np.random.randint(H)
    bbx1 = np.clip(cx - cut_w // 2, 0, W)
    bby1 = np.clip(cy - cut_h // 2, 0, H)
    bbx2 = np.clip(cx + cut_w // 2, 0, W)
    bby2 = np.clip(cy + cut_h // 2, 0, H)
    return bbx1, bby1, bbx2, bby2


def train_step(net, train_optimizer, im_1, im_2, prob, beta=1.0, amp=None):
    """One iteration of unmix_c10.py's train(): the Un-Mix mixture of im_1, the loss, the SGD step.
    With `amp` (a torch dtype) the forward runs under torch.autocast, as a PyTorch user adds it."""
    r = np.random.rand(1)
    lam = np.random.beta(beta, beta)
    images_reverse = torch.flip(im_1, (0,))
    if r < prob:
        mixed_images = lam * im_1 + (1 - lam) * images_reverse
        mixed_images_flip = torch.flip(mixed_images, (0,))
    else:
        mixed_images = im_1.clone()
        bbx1, bby1, bbx2, bby2 = rand_bbox(im_1.size(), lam)
        mixed_images[:, :, bbx1:bbx2, bby1:bby2] = images_reverse[:, :, bbx1:bbx2, bby1:bby2]
        mixed_images_flip = torch.flip(mixed_images, (0,))
        lam = 1 - ((bbx2 - bbx1) * (bby2 - bby1) / (im_1.size()[-1] * im_1.size()[-2]))
    if amp is None:
        loss = net(im_1, im_2, mixed_images, mixed_images_flip, lam)
    else:
        with torch.autocast(im_1.device.type, dtype=amp):
            loss = net(im_1, im_2, mixed_images, mixed_images_flip, lam)
    train_optimizer.zero_grad()
    loss.backward()
    train_optimizer.step()
    return loss.item()


def knn_predict(feature, feature_bank, feature_labels, classes, knn_k, knn_t):
    """unmix_c10.py's knn_predict (InstDisc / lemniscate.pytorch weighted kNN)."""
    sim_matrix = torch.mm(feature, feature_bank)  # [B, N]
    sim_weight, sim_indices = sim_matrix.topk(k=knn_k, dim=-1)  # [B, K]
    sim_labels = torch.gather(feature_labels.expand(feature.size(0), -1), dim=-1, index=sim_indices)
    sim_weight = (sim_weight / knn_t).exp()
    one_hot_label = torch.zeros(feature.size(0) * knn_k, classes, device=sim_labels.device)
    one_hot_label = one_hot_label.scatter(dim=-1, index=sim_labels.view(-1, 1), value=1.0)
    pred_scores = torch.sum(one_hot_label.view(feature.size(0), -1, classes) * sim_weight.unsqueeze(dim=-1), dim=1)
    pred_labels = pred_scores.argsort(dim=-1, descending=True)
    return pred_labels
