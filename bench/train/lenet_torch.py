#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The LeNet-5 of cim-train in PyTorch fp32, one epoch, for bench_train.sh.

Same network (conv1 6@5x5 padding 2, ReLU, maxpool 2, conv2 16@5x5, ReLU,
maxpool 2, fc 400-120-84-10), He (Kaiming uniform, ReLU gain) weights and
zero biases, SGD momentum 0.9, lr 0.05, weight decay 1e-3 on the weights
only (cim-train does not decay biases), batch 32, mean cross-entropy,
pixels in [0, 1]. The epoch order and the 1-pixel shifts are cim-train's
own (its splitmix64 shuffle and shift hash, seed 0), so both see the same
images in the same order. The timed epoch is what cim-train times: the
order, the augmentation, the training pass and the test pass.

Usage: lenet_torch.py DATA_DIR [THREADS]
Prints "torch epoch: S s ..." on stdout.
"""
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def die(msg):
    sys.stderr.write("lenet_torch: %s\n" % msg)
    sys.exit(1)


def read_idx(path, rank):
    """IDX file of unsigned bytes with the given rank, as a numpy array."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        die("%s: %s" % (path, e.strerror))
    if len(data) < 4 + 4 * rank:
        die("%s: truncated header" % path)
    zero, dtype, nd = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08 or nd != rank:
        die("%s: bad magic (want unsigned bytes, rank %d)" % (path, rank))
    dims = struct.unpack(">%dI" % rank, data[4:4 + 4 * rank])
    if 0 in dims:
        die("%s: zero dimension" % path)
    size = 1
    for d in dims:
        size *= d
    body = data[4 + 4 * rank:]
    if len(body) < size:
        die("%s: truncated" % path)
    if len(body) > size:
        die("%s: trailing data" % path)
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).reshape(dims)


def load(data_dir, prefix):
    x = read_idx(os.path.join(data_dir, prefix + "-images-idx3-ubyte"), 3)
    y = read_idx(os.path.join(data_dir, prefix + "-labels-idx1-ubyte"), 1)
    if tuple(x.shape[1:]) != (28, 28) or x.shape[0] != y.shape[0] or \
            int(y.max()) > 9:
        die("%s/%s-*: not 28x28 images with labels 0..9" % (data_dir, prefix))
    return (x.float() / 255.0).unsqueeze(1), y.long()


def mix(z):
    """splitmix64's finaliser (64-bit wrapping)."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def epoch_order(n, seed, epoch):
    """cim-train's shuffle(): Fisher-Yates driven by splitmix64."""
    s = (seed * 1000003 + epoch) & M64
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        s = (s + GOLDEN) & M64
        j = mix(s) % (i + 1)
        order[i], order[j] = order[j], order[i]
    return torch.tensor(order, dtype=torch.int64)


def epoch_shifts(n, seed, epoch, shift):
    """cim-train's shift_image() offsets for positions 0..n-1 of an epoch."""
    span = 2 * shift + 1
    base = (seed * 1000003 + epoch) * 1000003
    dx, dy = [], []
    for k in range(n):
        z = mix(((base + k) * GOLDEN + 0x632BE59BD9B4E019) & M64)
        dx.append(z % span - shift)
        dy.append((z >> 32) % span - shift)
    return torch.tensor(dx), torch.tensor(dy)


def shift_maps(shift):
    """For each offset (dy, dx), the source pixel of every destination
    pixel, dst[y][x] = src[y - dy][x - dx], pixel 0 (the corner, which
    fills in the background) when outside: (span * span, 784) indices."""
    span = 2 * shift + 1
    maps = []
    for dy in range(-shift, shift + 1):
        for dx in range(-shift, shift + 1):
            m = []
            for y in range(28):
                for x in range(28):
                    sy, sx = y - dy, x - dx
                    ok = 0 <= sy < 28 and 0 <= sx < 28
                    m.append(sy * 28 + sx if ok else 0)
            maps.append(m)
    assert len(maps) == span * span
    return torch.tensor(maps, dtype=torch.int64)


def shift_batch(x, combo, maps):
    """x (b, 1, 28, 28) moved by the offsets numbered combo (b,)."""
    b = x.shape[0]
    return torch.gather(x.reshape(b, 784), 1, maps[combo]).reshape(b, 1, 28, 28)


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        for m in (self.conv1, self.conv2, self.fc1, self.fc2, self.fc3):
            nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def main():
    if len(sys.argv) not in (2, 3):
        die("usage: lenet_torch.py DATA_DIR [THREADS]")
    threads = int(sys.argv[2]) if len(sys.argv) == 3 else os.cpu_count()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    batch, lr, mom, wd, shift, seed, epoch = 32, 0.05, 0.9, 1e-3, 1, 0, 0

    xtr, ytr = load(sys.argv[1], "train")
    xte, yte = load(sys.argv[1], "t10k")
    net = LeNet5()
    weights = [p for n, p in net.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in net.named_parameters() if n.endswith("bias")]
    opt = torch.optim.SGD([{"params": weights, "weight_decay": wd},
                           {"params": biases, "weight_decay": 0.0}],
                          lr=lr, momentum=mom)
    n = xtr.shape[0]
    maps = shift_maps(shift)

    t0 = time.perf_counter()
    net.train()
    order = epoch_order(n, seed, epoch)
    dx, dy = epoch_shifts(n, seed, epoch, shift)
    combo = (dy + shift) * (2 * shift + 1) + (dx + shift)
    loss_sum, ok = 0.0, 0
    for i in range(0, n, batch):
        idx = order[i:i + batch]
        x = shift_batch(xtr[idx], combo[i:i + batch], maps)
        y = ytr[idx]
        out = net(x)
        loss = F.cross_entropy(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_sum += loss.item() * len(idx)
        ok += int((out.argmax(1) == y).sum())
    t_train = time.perf_counter() - t0
    net.eval()
    test_ok = 0
    with torch.no_grad():
        for i in range(0, xte.shape[0], batch):
            test_ok += int((net(xte[i:i + batch]).argmax(1) ==
                            yte[i:i + batch]).sum())
    t = time.perf_counter() - t0
    print("torch epoch: %.3f s (train %.3f s + test pass %.3f s), "
          "%d threads, torch %s: loss %.4f train %.2f%% test %.2f%%"
          % (t, t_train, t - t_train, threads, torch.__version__,
             loss_sum / n, 100.0 * ok / n, 100.0 * test_ok / xte.shape[0]))


if __name__ == "__main__":
    main()
