#!/usr/bin/env python3
"""Writes the PyTorch goldens in tests/data/golden/ that the C reference ops are checked against.

Run by hand from the repository root (not in CI): python3 tests/reference/make_golden.py
Needs torch 2.x and numpy. The output is deterministic for a given torch version.

Inputs are drawn in float32 and stored as such; everything else is computed in float64 from
those float32 values and rounded to float32 only when written, so each stored output is the
exact result of the stored inputs up to one rounding. The file format is in golden.h.
"""

import argparse
import os
import re

import numpy as np
import torch
import torch.nn.functional as F

NAME_RE = re.compile(r"[A-Za-z0-9_./-]{1,128}")
MAX_FILE_BYTES = 200 * 1024


def write_golden(path, tensors, max_bytes=MAX_FILE_BYTES):
    """tensors: list of (name, tensor or number), written in order. max_bytes=None lifts the
    size limit (for debugging output that is not committed)."""
    names = set()
    with open(path, "wb") as f:
        f.write(b"CLSGOLD1\n")
        for name, value in tensors:
            assert NAME_RE.fullmatch(name) and name not in names, name
            names.add(name)
            if isinstance(value, torch.Tensor):
                value = value.detach().cpu().numpy()
            a = np.array(value, dtype="<f4", order="C")  # keeps 0-d scalars 0-d
            assert 0 <= a.ndim <= 8 and all(d >= 1 for d in a.shape), (name, a.shape)
            dims = "".join(" %d" % d for d in a.shape)
            f.write(("tensor %s %d%s\n" % (name, a.ndim, dims)).encode("ascii"))
            f.write(a.tobytes())
    size = os.path.getsize(path)
    assert max_bytes is None or size < max_bytes, (path, size)
    print("wrote %s (%d tensors, %d bytes)" % (path, len(tensors), size))


def uniform(rng, shape, lo=-1.0, hi=1.0):
    """float32 draws, returned as float64 tensors holding exactly those float32 values."""
    return torch.from_numpy(rng.uniform(lo, hi, size=shape).astype(np.float32)).double()


def gram(f, norm):
    n, c, h, w = f.shape
    v = f.reshape(n, c, h * w)
    return v @ v.transpose(1, 2) / norm


def conv_golden(out_dir):
    """(a) conv3x3 + bias forward, fused ReLU, and the gradient w.r.t. the input."""
    rng = np.random.default_rng(1001)
    x = uniform(rng, (1, 3, 13, 17)).requires_grad_()
    weight = uniform(rng, (8, 3, 3, 3), -0.5, 0.5)
    bias = uniform(rng, (8,), -0.5, 0.5)
    grad_out = uniform(rng, (1, 8, 13, 17))

    conv_out = F.conv2d(x, weight, bias, padding=1)
    relu_out = F.relu(conv_out)
    (grad_input,) = torch.autograd.grad(conv_out, x, grad_out, retain_graph=True)
    (grad_input_relu,) = torch.autograd.grad(relu_out, x, grad_out)
    write_golden(
        os.path.join(out_dir, "conv3x3.gold"),
        [
            ("input", x),
            ("weight", weight),
            ("bias", bias),
            ("conv_out", conv_out),
            ("relu_out", relu_out),
            ("grad_out", grad_out),
            ("grad_input", grad_input),  # conv only: grad_out taken as d/d conv_out
            ("grad_input_relu", grad_input_relu),  # through the ReLU, then the conv
        ],
    )


def first_in_scan_order_argmax(x):
    """Flat index (within each H x W plane) of the first maximum of each 2x2 window."""
    n, c, h, w = x.shape
    ho, wo = h // 2, w // 2
    idx = np.zeros((n, c, ho, wo), dtype=np.int64)
    for b in range(n):
        for ch in range(c):
            for y in range(ho):
                for xx in range(wo):
                    best = None
                    for dy in range(2):
                        for dx in range(2):
                            v = x[b, ch, 2 * y + dy, 2 * xx + dx]
                            if best is None or v > best[0]:
                                best = (v, (2 * y + dy) * w + 2 * xx + dx)
                    idx[b, ch, y, xx] = best[1]
    return idx


def pool_golden(out_dir):
    """(b) 2x2 max and average pooling, forward and backward, on an odd-sized input whose
    values come from 4 levels so that most windows hold ties.

    PyTorch's CPU max pooling scans each window row by row and replaces the running maximum
    only on a strictly greater value (or a NaN), so among equal maxima the FIRST in scan
    order (0,0), (0,1), (1,0), (1,1) wins and gets the gradient. Checked below against an
    explicit first-in-scan-order search for float32, float64 and channels_last inputs; it
    held for all of them with torch 2.x (the reference in ref_ops.c follows the same rule).
    """
    rng = np.random.default_rng(1002)
    levels = rng.integers(-2, 2, size=(2, 5, 7, 9)).astype(np.float32) * 0.5
    levels[:, :, 0:2, 0:2] = 0.5  # every plane's first window: four equal maxima
    levels[0, 0, 2:4, 2:4] = [[-1.0, 0.5], [0.5, 0.5]]  # the first maximum is at (0,1)
    levels[0, 1, 2:4, 2:4] = [[-1.0, -1.0], [0.5, 0.5]]  # the first maximum is at (1,0)
    x = torch.from_numpy(levels).double().requires_grad_()
    max_grad_out = uniform(rng, (2, 5, 3, 4))
    avg_grad_out = uniform(rng, (2, 5, 3, 4))

    max_out, max_index = F.max_pool2d(x, 2, 2, return_indices=True)
    (max_grad_input,) = torch.autograd.grad(max_out, x, max_grad_out)
    avg_out = F.avg_pool2d(x, 2, 2)
    (avg_grad_input,) = torch.autograd.grad(avg_out, x, avg_grad_out)

    expected = first_in_scan_order_argmax(levels)
    plain = x.detach()
    for variant in (plain, plain.float(), plain.to(memory_format=torch.channels_last)):
        _, idx = F.max_pool2d(variant, 2, 2, return_indices=True)
        assert np.array_equal(idx.numpy(), expected), "PyTorch max-pool tie-breaking changed"
    windows = torch.from_numpy(levels[:, :, :6, :8]).unfold(2, 2, 2).unfold(3, 2, 2)
    windows = windows.reshape(2, 5, 3, 4, 4)
    ties = (windows == windows.amax(-1, keepdim=True)).sum(-1) > 1
    print("pool: %d of %d windows have tied maxima; PyTorch picks the first in scan order"
          % (int(ties.sum()), ties.numel()))

    write_golden(
        os.path.join(out_dir, "pool2x2.gold"),
        [
            ("input", x),
            ("max_out", max_out),
            ("max_index", max_index.double()),  # flat index within the H x W input plane
            ("max_grad_out", max_grad_out),
            ("max_grad_input", max_grad_input),
            ("avg_out", avg_out),
            ("avg_grad_out", avg_grad_out),
            ("avg_grad_input", avg_grad_input),
        ],
    )


def chain_golden(out_dir):
    """(c) conv(3->4) -> relu -> maxpool -> conv(4->6) -> gram -> style loss against a random
    target Gram, and the gradient of style_weight * loss w.r.t. the input image."""
    rng = np.random.default_rng(1003)
    x = uniform(rng, (1, 3, 11, 13)).requires_grad_()
    w1 = uniform(rng, (4, 3, 3, 3), -0.5, 0.5)
    b1 = uniform(rng, (4,), -0.2, 0.2)
    w2 = uniform(rng, (6, 4, 3, 3), -0.5, 0.5)
    b2 = uniform(rng, (6,), -0.2, 0.2)
    target_features = uniform(rng, (1, 6, 5, 6), 0.0, 1.0)
    norm = 6 * 5 * 6  # C * H * W at the Gram
    style_weight = 0.5

    target_gram = gram(target_features, norm)
    target_gram = target_gram.float().double()  # stored as float32: use exactly that
    conv1_out = F.conv2d(x, w1, b1, padding=1)
    relu1_out = F.relu(conv1_out)
    pool1_out = F.max_pool2d(relu1_out, 2, 2)
    conv2_out = F.conv2d(pool1_out, w2, b2, padding=1)
    gram_out = gram(conv2_out, norm)
    loss = ((gram_out - target_gram) ** 2).sum()
    inner = [conv1_out, relu1_out, pool1_out, conv2_out, gram_out]
    grads = torch.autograd.grad(style_weight * loss, [x] + inner)
    grad_input, grad_conv1, grad_relu1, grad_pool1, grad_conv2, grad_gram = grads

    write_golden(
        os.path.join(out_dir, "chain.gold"),
        [
            ("input", x),
            ("conv1_weight", w1),
            ("conv1_bias", b1),
            ("conv2_weight", w2),
            ("conv2_bias", b2),
            ("target_gram", target_gram),
            ("gram_norm", norm),
            ("style_weight", style_weight),
            ("conv1_out", conv1_out),
            ("relu1_out", relu1_out),
            ("pool1_out", pool1_out),
            ("conv2_out", conv2_out),
            ("gram", gram_out),
            ("loss", loss),  # unweighted
            # gradients of style_weight * loss
            ("grad_gram", grad_gram),
            ("grad_conv2_out", grad_conv2),
            ("grad_pool1_out", grad_pool1),
            ("grad_relu1_out", grad_relu1),
            ("grad_conv1_out", grad_conv1),
            ("grad_input", grad_input),
        ],
    )


def loss_golden(out_dir):
    """(d) content loss and total variation (L1 and squared): values and gradients."""
    rng = np.random.default_rng(1004)
    features = uniform(rng, (2, 4, 6, 7)).requires_grad_()
    target = uniform(rng, (2, 4, 6, 7))
    # Quantised so that many neighbours are equal: the L1 gradient must use sign(0) = 0,
    # which is also what torch.abs's backward does.
    levels = rng.integers(0, 5, size=(2, 3, 9, 11)).astype(np.float32) * 0.25
    image = torch.from_numpy(levels).double().requires_grad_()

    content_loss = ((features - target) ** 2).mean()
    (content_grad,) = torch.autograd.grad(content_loss, features)
    dx = image[:, :, :, 1:] - image[:, :, :, :-1]
    dy = image[:, :, 1:, :] - image[:, :, :-1, :]
    tv_l1 = dx.abs().sum() + dy.abs().sum()
    (tv_l1_grad,) = torch.autograd.grad(tv_l1, image, retain_graph=True)
    tv_sq = (dx**2).sum() + (dy**2).sum()
    (tv_sq_grad,) = torch.autograd.grad(tv_sq, image)

    write_golden(
        os.path.join(out_dir, "losses.gold"),
        [
            ("content_features", features),
            ("content_target", target),
            ("content_loss", content_loss),
            ("content_grad", content_grad),
            ("tv_input", image),
            ("tv_l1", tv_l1),
            ("tv_l1_grad", tv_l1_grad),
            ("tv_sq", tv_sq),
            ("tv_sq_grad", tv_sq_grad),
        ],
    )


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.normpath(os.path.join(here, "..", "data", "golden"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=default_out, help="output folder (%(default)s)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    conv_golden(args.out)
    pool_golden(args.out)
    chain_golden(args.out)
    loss_golden(args.out)


if __name__ == "__main__":
    main()
