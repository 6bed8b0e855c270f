#!/usr/bin/env python3
"""Writes tests/data/golden/gatys_masks.gold: the losses and image gradient of one evaluation
with spatial masks (--style-masks, --content-mask), which tests/opencl/test_masks.c checks.

Run by hand from the repository root (not in CI), after building:
    build/tests/make-weights --arch vgg19 --format pth --seed 1 /tmp/vgg19-seed1.pth
    python3 tests/reference/make_mask_golden.py /tmp/vgg19-seed1.pth
Needs torch 2.x and numpy.

The algorithm is gatys.py's with guided Gram matrices (Gatys et al. 2017, "Controlling
Perceptual Factors in Neural Style Transfer"). A mask is one weight in 0..1 per pixel of the
content image; at a layer after p poolings it is average-pooled 2x2 p times (floor, as the
max pooling). Style image r with mask m_r: the generated image's guided Gram at a layer is
G_r = gram(F * m_r) / mean(m_r^2), gram(F) = F F^T / (C H W), so a mask of ones gives the
plain Gram; its target A_r is the plain Gram of the whole style image r; the style loss of a
layer is sum_r w_r sum (G_r - A_r)^2 with w_r the blend weights scaled to mean 1 (each style
at full strength in its region). The content mask weighs the squared error per pixel:
content = mean(m_c * (F - P)^2) over C H W. Float32, as in C.

Cases, on gatys_inputs.gold's images, at the shifted start (a content loss that is not 0):
"two": two styles (the style image and the content mirrored) with masks m and 1 - m (a
horizontal ramp with a hard step), and a content mask (a vertical ramp, zero on the top rows);
"one": the style image alone with mask m, no content mask. Each records the masks, the loss
terms (total, content, style, tv), the gradient of the total with respect to the image, and
grad_sensitivity: how far PyTorch's own gradient moves (||dg||_2 / ||g||_2, the largest over
two start images moved by +-1e-4). With random weights a few pixels sit on a knife edge (a
max-pooling tie, a ReLU at 0) where the gradient jumps: about 2e-3 here, masks or not.
"""

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import gatys as G  # noqa: E402
from make_golden import write_golden  # noqa: E402

H, W = 48, 64


def masks():
    x = np.arange(W, dtype=np.float32) / (W - 1)
    ramp = np.where(x < 0.3, 0.0, np.where(x > 0.7, 1.0, (x - 0.3) / 0.4)).astype(np.float32)
    m = np.tile(ramp, (H, 1))
    y = np.arange(H, dtype=np.float32) / (H - 1)
    content = np.tile(np.clip(y * 1.5 - 0.25, 0.0, 1.0)[:, None], (1, W)).astype(np.float32)
    return m, (1.0 - m).astype(np.float32), content


def poolings_before(features, layer):
    return sum(isinstance(features[i], torch.nn.MaxPool2d) for i in range(layer))


def at_layer(mask, pools):
    t = torch.from_numpy(mask)[None, None]
    for _ in range(pools):
        t = F.avg_pool2d(t, 2)
    return t


def evaluate(features, start, content, styles, style_masks, content_mask):
    with torch.no_grad():
        p_target = G.features_at(features, content, [G.CONTENT_LAYER])[G.CONTENT_LAYER]
        targets = []
        for s in styles:
            f = G.features_at(features, s, G.STYLE_LAYERS)
            targets.append({i: G.gram(f[i]) for i in G.STYLE_LAYERS})
    x = start.clone().requires_grad_()
    feats = G.features_at(features, x, [G.CONTENT_LAYER] + G.STYLE_LAYERS)
    sq = (feats[G.CONTENT_LAYER] - p_target) ** 2
    if content_mask is not None:
        sq = sq * at_layer(content_mask, poolings_before(features, G.CONTENT_LAYER))
    content_loss = sq.mean()
    style_loss = 0.0
    for i in G.STYLE_LAYERS:
        for r, mask in enumerate(style_masks):
            m = at_layer(mask, poolings_before(features, i))
            g = G.gram(feats[i] * m) / (m ** 2).mean()
            style_loss = style_loss + ((g - targets[r][i]) ** 2).sum()
    style_loss = style_loss / len(G.STYLE_LAYERS)
    tv = (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum() + \
        (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum()
    cw, sw, tw = G.WEIGHTS
    total = cw * content_loss + sw * style_loss + tw * tv
    total.backward()
    terms = torch.tensor([v.item() for v in (total, cw * content_loss, sw * style_loss, tw * tv)],
                         dtype=torch.float64)
    return terms, x.grad[0]


def sensitivity(features, start, content, styles, style_masks, content_mask, grad):
    worst = 0.0
    for k in range(2):
        moved = start + torch.from_numpy(
            np.random.default_rng(k).uniform(-1e-4, 1e-4, start.shape).astype(np.float32))
        _, g = evaluate(features, moved, content, styles, style_masks, content_mask)
        worst = max(worst, float((g - grad).norm() / grad.norm()))
    return worst


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    torch.set_num_threads(2)
    features = G.load_features(sys.argv[1], "max").float()
    for p in features.parameters():
        p.requires_grad_(False)
    rng = np.random.default_rng(G.IMAGE_SEED)  # gatys.py's images, drawn the same way
    content_img = G.smooth_image(rng, H, W)
    style_img = G.smooth_image(rng, 40, 56)
    shifted = np.roll(content_img, (2, 5), axis=(1, 2))
    mirrored = np.ascontiguousarray(content_img[:, :, ::-1])
    content, style, start = (G.to_tensor(a) for a in (content_img, style_img, shifted))
    m, m_inv, content_mask = masks()
    records = [("mask", m), ("mask_inverse", m_inv), ("content_mask", content_mask),
               ("mirrored", mirrored)]
    for name, styles, style_masks, cmask in (
            ("two", [style, G.to_tensor(mirrored)], [m, m_inv], content_mask),
            ("one", [style], [m], None)):
        terms, grad = evaluate(features, start, content, styles, style_masks, cmask)
        moves = sensitivity(features, start, content, styles, style_masks, cmask, grad)
        print("%s: total %.6e content %.6e style %.6e tv %.6e; the gradient moves by %.2e" %
              (name, *terms.tolist(), moves))
        records += [(name + "/terms", terms), (name + "/grad", grad),
                    (name + "/grad_sensitivity", torch.tensor(moves))]
    out = os.path.join(os.path.dirname(__file__), "..", "data", "golden", "gatys_masks.gold")
    write_golden(os.path.normpath(out), [(n, torch.as_tensor(v)) for n, v in records])


if __name__ == "__main__":
    main()
