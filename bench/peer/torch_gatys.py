#!/usr/bin/env python3
"""The peer of `clstyle-bench --eval`: one style transfer evaluation in PyTorch.

The losses are those of tests/reference/gatys.py (clstyle's defaults): VGG-19 features to
relu5_1, content mean((F - P)^2) at conv4_2, style the mean over relu1_1..relu5_1 of
sum((G - A)^2) with G = F F^T / (C H W), total variation sum |dx| + sum |dy|, weighted
1e5, 3e4, 1. One evaluation is the forward pass, the losses and the backward pass to the
image (the targets are computed once, outside the timing). Random He-initialised weights
unless --model names a torchvision-style weight file (speed does not depend on values).

    python3 bench/peer/torch_gatys.py --size 256 --size 512 [--repeats 3] [--json]
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn

# The algorithm itself lives in the reference implementation the goldens come from.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "reference"))
from gatys import CONTENT_LAYER, STYLE_LAYERS, features_at, gram, losses  # noqa: E402
from make_vgg_golden import MEAN, vgg19_features  # noqa: E402


def load_features(path):
    """VGG-19 up to relu5_1: the weights of path, else He-initialised random ones."""
    features = vgg19_features("max")
    if path:
        state = torch.load(path, map_location="cpu", weights_only=True)
        own = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
        features.load_state_dict(own)
    else:
        for layer in features:
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(layer.bias)
    last = max([CONTENT_LAYER] + STYLE_LAYERS)
    features = nn.Sequential(*list(features)[: last + 1]).float()
    for p in features.parameters():
        p.requires_grad_(False)
    return features.eval()


def random_image(size, generator, device):
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    img = torch.rand(1, 3, size, size, generator=generator) * 255 - mean
    return img.to(device)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_eval(features, size, warmup, repeats, device):
    g = torch.Generator().manual_seed(size)
    content, style = random_image(size, g, device), random_image(size, g, device)
    with torch.no_grad():
        content_target = features_at(features, content, [CONTENT_LAYER])[CONTENT_LAYER]
        style_feats = features_at(features, style, STYLE_LAYERS)
        style_targets = {i: gram(style_feats[i]) for i in STYLE_LAYERS}
    x = content.clone().requires_grad_()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    runs = []
    for r in range(warmup + repeats):
        sync(device)
        start = time.perf_counter()
        x.grad = None
        total = losses(features, x, content_target, style_targets)[0]
        total.backward()
        total.item()  # the loss on the host, as clstyle's optimiser reads it
        sync(device)
        if r >= warmup:
            runs.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else None
    return statistics.median(runs), peak


def device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return "PyTorch %s CPU, %d threads" % (torch.__version__, torch.get_num_threads())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, action="append", help="image side (repeatable)")
    ap.add_argument("--model", help="torchvision-style VGG-19 weights (default: random)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    sizes = args.size or [256, 512]
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(1)
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(args.device)
    features = load_features(args.model).to(device)
    results = []
    if not args.json:
        print("device: %s" % device_name(device), flush=True)
    for size in sizes:
        seconds, peak = time_eval(features, size, args.warmup, args.repeats, device)
        results.append({"op": "eval", "size": size, "eval_s": round(seconds, 6),
                        "device_bytes": peak, "warmup": args.warmup, "repeats": args.repeats})
        if not args.json:
            mem = "" if peak is None else "   device memory %8.1f MiB" % (peak / 2**20)
            print("eval %4dx%-4d  %9.2f ms per evaluation%s" % (size, size, seconds * 1e3, mem),
                  flush=True)
    if args.json:
        print(json.dumps({"device": device_name(device), "results": results}))


if __name__ == "__main__":
    main()
