#!/usr/bin/python3
"""nn_torch.py - the peer for bench_nn: the same Table-1 DCNN in PyTorch on one thread.
Prints `torch_infer_seg_per_s X` (eval, batch 64) and `torch_train_seg_per_s Y` (batch 32, 5000
classes, forward + backward + Nesterov SGD step), each the best of timed repetitions in interleaved
rounds (as bench_nn).
usage: nn_torch.py [seconds per measurement]
       nn_torch.py --serve   (for bench_nn: reads `infer S` / `train S` lines on stdin, measures that
                              one for S seconds and answers `rate X` segments/s, so that bench_nn can
                              alternate ours and PyTorch round by round on a shared machine)"""
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(1)
SERVE = len(sys.argv) > 1 and sys.argv[1] == "--serve"
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 and not SERVE else 2.0


class Net(nn.Module):
    def __init__(self, classes):
        super().__init__()
        layers, cin = [], 128
        for k, cout, pool in [(4, 128, 4), (4, 128, 4), (4, 128, 4), (2, 128, 2), (1, 256, 1)]:
            layers += [nn.ConstantPad1d(((k - 1) // 2, k // 2), 0.0), nn.Conv1d(cin, cout, k),
                       nn.BatchNorm1d(cout, eps=1e-3, momentum=0.01), nn.ReLU()]
            if pool > 1:
                layers.append(nn.MaxPool1d(pool))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(0.5), nn.Linear(256, classes))

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


def rates(fns, batches, rounds=4):
    """best rate of each fn over interleaved rounds of about SECONDS/4 each (the machine is shared)"""
    best = [0.0] * len(fns)
    for _ in range(rounds):
        for i, (fn, batch) in enumerate(zip(fns, batches)):
            if best[i] == 0.0:
                fn()  # warm-up
            t0 = time.perf_counter()
            n = 0
            while time.perf_counter() - t0 < SECONDS / 4:
                fn()
                n += batch
            best[i] = max(best[i], n / (time.perf_counter() - t0))
    return best


def main():
    torch.manual_seed(0)
    net = Net(5000)
    x64 = torch.rand(64, 128, 129)
    x32 = torch.rand(32, 128, 129)
    y32 = torch.randint(0, 5000, (32,))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    loss_fn = nn.CrossEntropyLoss()

    def infer():
        net.eval()
        with torch.no_grad():
            net.features(x64)

    def train():
        net.train()
        opt.zero_grad()
        loss_fn(net(x32), y32).backward()
        opt.step()

    if SERVE:
        fns = {"infer": (infer, 64), "train": (train, 32)}
        print(f"torch_version {torch.__version__}", flush=True)
        for line in sys.stdin:
            what, secs = line.split()
            fn, batch = fns[what]
            fn()  # warm-up
            t0 = time.perf_counter()
            n = 0
            while time.perf_counter() - t0 < float(secs):
                fn()
                n += batch
            print(f"rate {n / (time.perf_counter() - t0):.1f}", flush=True)
        return
    ri, rt = rates([infer, train], [64, 32])
    print(f"torch_version {torch.__version__}")
    print(f"torch_infer_seg_per_s {ri:.1f}")
    print(f"torch_train_seg_per_s {rt:.1f}")


if __name__ == "__main__":
    main()
