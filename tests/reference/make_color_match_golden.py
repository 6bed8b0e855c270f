#!/usr/bin/env python3
"""Writes tests/data/golden/color_match.gold: the style images' colours matched to the content
image's by --color-match mean-cov and histogram, computed in float64 with numpy, which
src/transfer/color_match.c (cls_image_match_colors) is checked against.

Run by hand from the repository root (not in CI; needs only numpy):
    /opt/torchenv/bin/python tests/reference/make_color_match_golden.py

Records, per case NAME (images are [height, width, 3], RGB 0..255, float32):
    content_NAME, style_NAME   the inputs
    meancov_NAME               x -> A (x - mu_s) + mu_c, A = Sigma_c^1/2 Sigma_s^-1/2, clipped
    hist_NAME                  exact per-channel histogram matching, clipped
Cases: different sizes; equal pixel counts in other shapes; a nearly flat style; a constant
style; a grey style (rank-one covariance); a grey content; a style with many tied values.
"""

import argparse
import os

import numpy as np


def write_golden(path, records):
    with open(path, "wb") as f:
        f.write(b"CLSGOLD1\n")
        for name, array in records:
            a = np.ascontiguousarray(array, dtype="<f4")
            dims = " ".join(str(d) for d in a.shape)
            f.write(("tensor %s %d%s%s\n" % (name, a.ndim, " " if a.ndim else "", dims)).encode())
            f.write(a.tobytes())


def mean_cov(img):
    x = img.reshape(-1, 3).astype(np.float64)
    mu = x.mean(axis=0)
    d = x - mu
    return mu, d.T @ d / x.shape[0]


def sym_power(m, power):
    w, v = np.linalg.eigh(m)
    w = np.maximum(w, max(1e-5 * w.max(), 1e-8))
    return (v * w ** power) @ v.T


def match_mean_cov(content, style):
    mu_c, cov_c = mean_cov(content)
    mu_s, cov_s = mean_cov(style)
    a = sym_power(cov_c, 0.5) @ sym_power(cov_s, -0.5)
    x = style.reshape(-1, 3).astype(np.float64)
    out = (x - mu_s) @ a.T + mu_c
    return np.clip(out, 0, 255).reshape(style.shape)


def match_histogram(content, style):
    c = content.reshape(-1, 3).astype(np.float64)
    s = style.reshape(-1, 3).astype(np.float64)
    nc, ns = c.shape[0], s.shape[0]
    out = np.empty_like(s)
    for ch in range(3):
        order = np.argsort(s[:, ch], kind="stable")  # ties: by pixel index
        quantiles = (np.arange(ns) + 0.5) / ns
        values = np.interp(quantiles, (np.arange(nc) + 0.5) / nc, np.sort(c[:, ch]))
        out[order, ch] = values
    return np.clip(out, 0, 255).reshape(style.shape)


def cases():
    rng = np.random.default_rng(11)

    def smooth(h, w, lo, hi):
        y, x = np.mgrid[0:h, 0:w]
        base = np.stack([x / max(w - 1, 1), y / max(h - 1, 1), (x + y) / (h + w)], axis=-1)
        mix = rng.standard_normal((3, 3)) * 0.5 + np.eye(3)
        img = base @ mix + rng.standard_normal((h, w, 3)) * 0.15
        img = (img - img.min()) / (img.max() - img.min())
        return (lo + (hi - lo) * img).astype(np.float32)

    content = smooth(5, 7, 60, 200)
    yield "sizes", content, smooth(9, 6, 0, 255)
    yield "same_count", content, smooth(7, 5, 20, 240)
    flat = 100 + rng.uniform(-0.5, 0.5, (4, 5, 3))
    yield "nearly_flat", content, flat.astype(np.float32)
    yield "constant", content, np.full((3, 4, 3), [30, 140, 220], np.float32)
    grey = smooth(6, 8, 0, 255)[..., :1].repeat(3, axis=-1)
    yield "grey_style", content, grey
    yield "grey_content", grey, smooth(5, 6, 0, 255)
    ties = np.floor(smooth(6, 6, 0, 255) / 32) * 32
    yield "ties", content, ties.astype(np.float32)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join("tests", "data", "golden"))
    args = parser.parse_args()
    records = []
    for name, content, style in cases():
        records += [("content_" + name, content), ("style_" + name, style),
                    ("meancov_" + name, match_mean_cov(content, style)),
                    ("hist_" + name, match_histogram(content, style))]
    # The cases whose mean-cov map stays inside 0..255 (so the statistics match exactly).
    for name in ("sizes", "same_count"):
        style = dict((n, a) for n, a in records)["style_" + name]
        content = dict((n, a) for n, a in records)["content_" + name]
        mu_c, cov_c = mean_cov(content)
        x = style.reshape(-1, 3).astype(np.float64)
        mu_s, cov_s = mean_cov(style)
        a = sym_power(cov_c, 0.5) @ sym_power(cov_s, -0.5)
        raw = (x - mu_s) @ a.T + mu_c
        assert raw.min() >= 0 and raw.max() <= 255, (name, raw.min(), raw.max())
    path = os.path.join(args.out, "color_match.gold")
    write_golden(path, records)
    size = os.path.getsize(path)
    assert size < 200 * 1024, size
    print("wrote %s (%d bytes, %d tensors)" % (path, size, len(records)))


if __name__ == "__main__":
    main()
