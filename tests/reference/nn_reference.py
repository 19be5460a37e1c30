#!/usr/bin/python3
"""nn_reference.py - PyTorch (and numpy) reference for the DCNN of nn/ (Park et al., Table 1).

Writes tests/fixtures/nn/nn_reference.h5, read by tests/test_nn_reference.c:
  * a net with weights generated from a seed by a formula the C test repeats (so the weights are
    not stored): eval-mode features and logits, training-mode loss and the gradient of every
    parameter (2 micro-batches of 3 segments, each normalised with its own batch statistics, a
    fixed dropout mask), and the weights and BN running statistics after 3 Nesterov SGD steps;
  * the authors' Keras model (../shared/data/authors-model/model_siamese_10000.h5) loaded with
    Keras semantics (channels-last input, 'same' padding with (k-1)//2 zeros left, BN epsilon from
    model_config), evaluated by an independent channels-last numpy implementation and by the
    PyTorch net: 256-d features of a few formula-generated log-mel segments.
Run once with Debian's python3 (torch, numpy, h5py):  /usr/bin/python3 tests/reference/nn_reference.py
Everything in float32 on one thread. Flat parameter layout = nn/nn.h.
"""
import json
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(0)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "nn", "nn_reference.h5")
KERAS = os.path.join(HERE, "..", "..", "..", "shared", "data", "authors-model", "model_siamese_10000.h5")

K = [4, 4, 4, 2, 1]
CIN = [128, 128, 128, 128, 128]
COUT = [128, 128, 128, 128, 256]
POOL = [4, 4, 4, 2, 1]
EPS = 1e-3
C, N, MICRO = 7, 6, 3
LR, MOM, WD, STEPS = 0.05, 0.9, 1e-3, 3
NORM_MEAN, NORM_STD = 0.75, 0.5


def hash64(x):
    """splitmix64 finaliser on uint64 arrays (nn_hash64 in nn/dense.c)"""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def formula(seed, n, scale, offset):
    """float32((2u - 1) * scale + offset), u = top 24 bits of hash64(seed * 2^32 + i) / 2^24"""
    i = np.arange(n, dtype=np.uint64) + np.uint64(seed) * np.uint64(1 << 32)
    u = (hash64(i) >> np.uint64(40)).astype(np.float64) / float(1 << 24)
    return ((2.0 * u - 1.0) * scale + offset).astype(np.float32)


def test_params():
    """flat parameters and BN statistics of the test net (tests/test_nn_reference.c repeats this)"""
    p, bn = [], []
    for l in range(5):
        fan = K[l] * CIN[l]
        p.append(formula(100 + 10 * l, fan * COUT[l], np.sqrt(6.0 / fan), 0.0))  # kernel (k, in, out)
        p.append(formula(101 + 10 * l, COUT[l], 0.1, 0.0))  # bias
        p.append(formula(102 + 10 * l, COUT[l], 0.2, 1.0))  # gamma
        p.append(formula(103 + 10 * l, COUT[l], 0.1, 0.0))  # beta
        bn.append(formula(104 + 10 * l, COUT[l], 0.1, 0.0))  # moving mean
        bn.append(formula(105 + 10 * l, COUT[l], 0.5, 1.0))  # moving variance
    p.append(formula(160, 256 * C, np.sqrt(6.0 / (256 + C)), 0.0))  # dense (256, C)
    p.append(formula(161, C, 0.1, 0.0))
    return np.concatenate(p), np.concatenate(bn)


def unflatten(flat, bn):
    """torch tensors: per conv [w (out,in,k), b, gamma, beta], running [mean, var]; dense [w (C,256), b]
    (in the dtype of flat)"""
    conv, run, o, ob = [], [], 0, 0
    for l in range(5):
        n = K[l] * CIN[l] * COUT[l]
        w = flat[o:o + n].reshape(K[l], CIN[l], COUT[l]).transpose(2, 1, 0).copy(); o += n
        b = flat[o:o + COUT[l]]; o += COUT[l]
        g = flat[o:o + COUT[l]]; o += COUT[l]
        be = flat[o:o + COUT[l]]; o += COUT[l]
        conv.append([torch.tensor(x.copy(), requires_grad=True) for x in (w, b, g, be)])
        run.append([torch.tensor(bn[ob:ob + COUT[l]].copy()), torch.tensor(bn[ob + COUT[l]:ob + 2 * COUT[l]].copy())])
        ob += 2 * COUT[l]
    dense = None
    if o < len(flat):
        wd = flat[o:o + 256 * C].reshape(256, C).T.copy(); o += 256 * C
        bd = flat[o:o + C].copy()
        dense = [torch.tensor(wd, requires_grad=True), torch.tensor(bd, requires_grad=True)]
    return conv, run, dense


def flatten(conv, dense, grads=False):
    out = []
    for w, b, g, be in conv:
        t = [x.grad if grads else x.detach() for x in (w, b, g, be)]
        out += [t[0].permute(2, 1, 0).reshape(-1), t[1], t[2], t[3]]
    if dense:
        t = [x.grad if grads else x.detach() for x in dense]
        out += [t[0].T.reshape(-1), t[1]]
    return torch.cat([x.reshape(-1) for x in out]).numpy().astype(np.float32 if out[0].dtype == torch.float32 else np.float64)


def step0_float64(flat, bn, segs, labels, mask):
    """the first step's mean gradient and BN batch statistics (tail layout of nn/nn.h: per layer the
    SUM over micro-batches of the batch means, then of the unbiased variances) in float64: the exact
    values (to ~1e-15) that both the one-call and the split float32 computations approximate"""
    conv, run, dense = unflatten(flat.astype(np.float64), bn.astype(np.float64))
    x = (torch.tensor(segs.astype(np.float64)) - NORM_MEAN) / NORM_STD
    stats = []
    h = features(x, conv, run, True, MICRO, stats) * torch.tensor(mask.reshape(N, 256).astype(np.float64))
    loss = F.cross_entropy(F.linear(h, dense[0], dense[1]), labels)
    loss.backward()
    tail = torch.cat([torch.cat([m * (N // MICRO), v * (N // MICRO)]) for m, v in stats]).detach().numpy()
    return flatten(conv, dense, grads=True), tail


def features(x, conv, run, train, micro=None, stats=None, eps=EPS):
    """x: (B, 128 mel, 129 frames) normalised; returns (B, 256)"""
    for l in range(5):
        w, b, g, be = conv[l]
        pl = (K[l] - 1) // 2
        z = F.conv1d(F.pad(x, (pl, K[l] - 1 - pl)), w, b)
        if train:
            ys, ms, vs = [], [], []
            for s in range(0, z.shape[0], micro):
                zg = z[s:s + micro]
                rm, rv = torch.zeros(COUT[l], dtype=z.dtype), torch.zeros(COUT[l], dtype=z.dtype)
                ys.append(F.batch_norm(zg, rm, rv, g, be, training=True, momentum=1.0, eps=eps))
                ms.append(rm); vs.append(rv)  # momentum 1: batch mean and unbiased batch variance
            y = torch.cat(ys)
            stats.append((torch.stack(ms).mean(0), torch.stack(vs).mean(0)))
        else:
            y = F.batch_norm(z, run[l][0], run[l][1], g, be, training=False, eps=eps)
        y = F.relu(y)
        if POOL[l] > 1:
            y = F.max_pool1d(y, POOL[l])
        x = y
    return x.reshape(x.shape[0], -1)


def keras_numpy_features(path, segs):
    """independent channels-last forward with the Keras file's own tensors (time x mel input)"""
    f = h5py.File(path, "r")
    cfg = json.loads(f.attrs["model_config"])
    eps = [l["config"]["epsilon"] for l in cfg["config"]["layers"] if l["class_name"] == "BatchNormalization"]
    assert len(set(eps)) == 1
    eps = eps[0]
    mw = f["model_weights"]
    out = []
    for s in segs:
        x = ((s.astype(np.float64) - 0.22620339) / 0.25794547).T  # (129 time, 128 mel)
        for l in range(1, 6):
            kern = mw[f"conv1d_{l}/conv1d_{l}/kernel:0"][()].astype(np.float64)  # (k, in, out)
            bias = mw[f"conv1d_{l}/conv1d_{l}/bias:0"][()]
            bn = {n: mw[f"batch_normalization_{l}/batch_normalization_{l}/{n}:0"][()]
                  for n in ("gamma", "beta", "moving_mean", "moving_variance")}
            k, T = kern.shape[0], x.shape[0]
            pl = (k - 1) // 2
            xp = np.concatenate([np.zeros((pl, x.shape[1])), x, np.zeros((k - 1 - pl, x.shape[1]))])
            z = sum(xp[j:j + T] @ kern[j] for j in range(k)) + bias
            y = (z - bn["moving_mean"]) / np.sqrt(bn["moving_variance"] + eps) * bn["gamma"] + bn["beta"]
            y = np.maximum(y, 0)
            p = POOL[l - 1]
            if p > 1:
                y = y[:(T // p) * p].reshape(T // p, p, -1).max(1)
            x = y
        out.append(x.mean(0))  # GlobalAveragePooling1D over the single remaining frame
    return np.array(out, dtype=np.float32), eps


def keras_torch_features(path, segs, eps):
    f = h5py.File(path, "r")["model_weights"]
    conv, run = [], []
    for l in range(1, 6):
        kern = f[f"conv1d_{l}/conv1d_{l}/kernel:0"][()]
        conv.append([torch.tensor(kern.transpose(2, 1, 0).copy()), torch.tensor(f[f"conv1d_{l}/conv1d_{l}/bias:0"][()])]
                    + [torch.tensor(f[f"batch_normalization_{l}/batch_normalization_{l}/{n}:0"][()]) for n in ("gamma", "beta")])
        run.append([torch.tensor(f[f"batch_normalization_{l}/batch_normalization_{l}/{n}:0"][()])
                    for n in ("moving_mean", "moving_variance")])
    x = (torch.tensor(segs) - 0.22620339) / 0.25794547
    with torch.no_grad():
        return features(x, conv, run, False, eps=eps).numpy()


def main():
    flat, bn = test_params()
    segs = formula(1000, N * 128 * 129, 0.75, 0.75).reshape(N, 128, 129)  # raw log-mel, band-major
    labels = torch.tensor([i % C for i in range(N)])
    mask = np.where(formula(2000, N * 256, 0.5, 0.5) < 0.5, 0.0, 2.0).astype(np.float32)  # dropout 0.5
    x = (torch.tensor(segs) - NORM_MEAN) / NORM_STD

    conv, run, dense = unflatten(flat, bn)
    with torch.no_grad():
        feat = features(x, conv, run, False)
        logits = F.linear(feat, dense[0], dense[1])

    losses = []
    params = [t for blk in conv for t in blk] + dense
    kernels = [blk[0] for blk in conv]
    others = [t for t in params if all(t is not k for k in kernels)]
    opt = torch.optim.SGD([{"params": kernels, "weight_decay": WD}, {"params": others, "weight_decay": 0.0}],
                          lr=LR, momentum=MOM, nesterov=True)
    grads0 = None
    for step in range(STEPS):
        opt.zero_grad()
        stats = []
        h = features(x, conv, run, True, MICRO, stats) * torch.tensor(mask.reshape(N, 256))
        loss = F.cross_entropy(F.linear(h, dense[0], dense[1]), labels)
        loss.backward()
        losses.append(loss.item())
        if step == 0:
            grads0 = flatten(conv, dense, grads=True)
        opt.step()
        with torch.no_grad():
            for l in range(5):
                run[l][0].mul_(0.99).add_(0.01 * stats[l][0])
                run[l][1].mul_(0.99).add_(0.01 * stats[l][1])
    after = flatten(conv, dense)
    bn_after = torch.cat([torch.cat(r) for r in run]).numpy()

    with h5py.File(OUT, "w") as f:
        f.attrs["magic"] = "artistnet-nn-reference"
        f.attrs["version"] = 2
        f.attrs["torch_version"] = str(torch.__version__)
        for k, v in dict(n_classes=C, n=N, micro_batch=MICRO, lr=LR, momentum=MOM, weight_decay=WD, steps=STEPS,
                         norm_mean=NORM_MEAN, norm_std=NORM_STD).items():
            f.attrs[k] = v
        f["eval_features"] = feat.numpy()
        f["eval_logits"] = logits.numpy()
        f["train_loss"] = np.array(losses, dtype=np.float64)
        f["grads"] = grads0
        g64, tail64 = step0_float64(flat, bn, segs, labels, mask)
        # stored rounded to float32 (6e-8 relative: far below the test's tolerances, half the bytes)
        f["grads_f64"] = g64.astype(np.float32)
        f["tail_f64"] = tail64.astype(np.float32)
        f["params_after"] = after
        f["bn_after"] = bn_after.astype(np.float32)
        if os.path.exists(KERAS):
            ksegs = formula(3000, 4 * 128 * 129, 0.75, 0.75).reshape(4, 128, 129)
            kn, eps = keras_numpy_features(KERAS, ksegs)
            kt = keras_torch_features(KERAS, ksegs, eps)
            err = np.abs(kn - kt).max() / np.abs(kn).max()
            print(f"keras numpy vs torch: max rel diff {err:.3g}")
            assert err < 1e-5
            f["keras_features"] = kn
            f.attrs["keras_epsilon"] = eps
        else:
            print("warning: no Keras model at", KERAS, file=sys.stderr)
    print("wrote", OUT, "losses", losses)


if __name__ == "__main__":
    main()
