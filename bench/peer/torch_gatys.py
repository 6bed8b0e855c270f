#!/usr/bin/env python3
"""The peer of `clstyle-bench`: one style transfer evaluation in PyTorch, and with --ops the
same per-op report (every VGG-19 conv layer shape to relu5_1 forward with bias and ReLU and
backward-data, the Gram products and losses of the style and content layers, one
evaluation, the L-BFGS optimiser's own work per iteration, a real L-BFGS transfer).

The losses are those of tests/reference/gatys.py (clstyle's defaults): VGG-19 features to
relu5_1, content mean((F - P)^2) at conv4_2, style the mean over relu1_1..relu5_1 of
sum((G - A)^2) with G = F F^T / (C H W), total variation sum |dx| + sum |dy|, weighted
1e5, 3e4, 1. One evaluation is the forward pass, the losses and the backward pass to the
image (the targets are computed once, outside the timing). Random He-initialised weights
unless --model names a torchvision-style weight file (speed does not depend on values).

    python3 bench/peer/torch_gatys.py --size 256 --size 512 [--repeats 3] [--json] [--ops]
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

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


def random_problem(features, size, device):
    """Random content and style images of size x size (seeded by size), and their targets."""
    g = torch.Generator().manual_seed(size)
    content, style = random_image(size, g, device), random_image(size, g, device)
    with torch.no_grad():
        content_target = features_at(features, content, [CONTENT_LAYER])[CONTENT_LAYER]
        style_feats = features_at(features, style, STYLE_LAYERS)
        style_targets = {i: gram(style_feats[i]) for i in STYLE_LAYERS}
    return content, content_target, style_targets


def time_eval(features, size, warmup, repeats, device):
    content, content_target, style_targets = random_problem(features, size, device)
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


# The distinct conv shapes of VGG-19 up to relu5_1 (name, cin, cout, size divisor, layers of
# that shape per evaluation) and the Gram/loss taps: the same rows as clstyle-bench's.
CONV_LAYERS = [("conv1_1", 3, 64, 1, 1), ("conv1_2", 64, 64, 1, 1), ("conv2_1", 64, 128, 2, 1),
               ("conv2_2", 128, 128, 2, 1), ("conv3_1", 128, 256, 4, 1),
               ("conv3_2-4", 256, 256, 4, 3), ("conv4_1", 256, 512, 8, 1),
               ("conv4_2-4", 512, 512, 8, 3), ("conv5_1", 512, 512, 16, 1)]
STYLE_TAPS = [("relu1_1", 64, 1), ("relu2_1", 128, 2), ("relu3_1", 256, 4), ("relu4_1", 512, 8),
              ("relu5_1", 512, 16)]
CONTENT_TAP = ("conv4_2", 512, 8)


def time_op(fn, warmup, repeats, device):
    """Median seconds of fn() over repeats runs after warmup ones."""
    runs = []
    for r in range(warmup + repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        if r >= warmup:
            runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def gflops(flops, seconds):
    return flops / seconds * 1e-9 if seconds > 0 else 0.0


@torch.no_grad()
def bench_convs(size, warmup, repeats, device):
    out = []
    for name, cin, cout, div, layers in CONV_LAYERS:
        hw = size // div
        x = torch.rand(1, cin, hw, hw, device=device) - 0.5
        w = torch.rand(cout, cin, 3, 3, device=device) - 0.5
        b = torch.rand(cout, device=device) - 0.5
        gy = torch.rand(1, cout, hw, hw, device=device) - 0.5
        fwd = time_op(lambda: F.relu(F.conv2d(x, w, b, padding=1)), warmup, repeats, device)
        bwd = time_op(lambda: torch.nn.grad.conv2d_input(x.shape, w, gy, padding=1), warmup,
                      repeats, device)
        flops = 2.0 * 9 * cin * cout * hw * hw
        out.append({"op": "conv3x3", "layer": name, "size": size, "cin": cin, "cout": cout,
                    "h": hw, "w": hw, "layers": layers, "gflop": round(flops * 1e-9, 4),
                    "forward_s": round(fwd, 6), "forward_gflops": round(gflops(flops, fwd), 2),
                    "backward_data_s": round(bwd, 6),
                    "backward_data_gflops": round(gflops(flops, bwd), 2)})
    return out


@torch.no_grad()
def bench_grams(size, warmup, repeats, device):
    out = []
    for name, c, div in STYLE_TAPS:
        hw = (size // div) ** 2
        f = torch.rand(c, hw, device=device) - 0.5
        g_grad = torch.rand(c, c, device=device) - 0.5
        target = torch.rand(c, c, device=device) - 0.5
        grad_f = torch.zeros(c, hw, device=device)
        scale = 1.0 / (c * hw)
        fwd = time_op(lambda: torch.mm(f, f.t()).mul_(scale), warmup, repeats, device)
        # As autograd does for G = F F^T: dF = (dG + dG^T) F, added into the gradient.
        bwd = time_op(lambda: grad_f.addmm_(g_grad + g_grad.t(), f, alpha=scale), warmup,
                      repeats, device)
        gram = torch.mm(f, f.t()).mul_(scale)
        loss = time_op(lambda: (((gram - target) ** 2).sum().item(), (gram - target).mul(2)),
                       warmup, repeats, device)
        flops = 2.0 * c * c * hw
        out.append({"op": "gram", "layer": name, "size": size, "c": c, "h": size // div,
                    "w": size // div, "gflop": round(flops * 1e-9, 4),
                    "forward_s": round(fwd, 6), "forward_gflops": round(gflops(flops, fwd), 2),
                    "backward_s": round(bwd, 6), "backward_gflops": round(gflops(flops, bwd), 2)})
        out.append({"op": "loss", "kind": "style", "layer": name, "size": size, "count": c * c,
                    "s": round(loss, 6)})
    name, c, div = CONTENT_TAP
    count = c * (size // div) ** 2
    x = torch.rand(count, device=device)
    t = torch.rand(count, device=device)
    loss = time_op(lambda: (F.mse_loss(x, t).item(), (x - t).mul(2.0 / count)), warmup, repeats,
                   device)
    out.append({"op": "loss", "kind": "content", "layer": name, "size": size, "count": count,
                "s": round(loss, 6)})
    return out


def bench_lbfgs_overhead(size, history, repeats, device):
    """torch.optim.LBFGS on the sum of squared neighbour differences of a 3 x size x size
    image (cheap, never converging soon): seconds per iteration once the history is full,
    minus the objective's own time."""
    x = (torch.rand(1, 3, size, size, device=device) - 0.5).requires_grad_()

    def objective():
        return ((x[:, :, :, 1:] - x[:, :, :, :-1]) ** 2).sum() + \
            ((x[:, :, 1:, :] - x[:, :, :-1, :]) ** 2).sum()

    def eval_once():
        x.grad = None
        f = objective()
        f.backward()
        return f.item()

    objective_s = time_op(eval_once, 1, max(repeats, 3), device)
    timed = max(repeats, 3)
    iters = history + 1 + timed
    stamps = []
    opt = torch.optim.LBFGS([x], max_iter=iters, max_eval=4 * iters, history_size=history,
                            line_search_fn="strong_wolfe", tolerance_grad=0, tolerance_change=0)
    state = opt.state[x]

    def closure():
        stamps.append((time.perf_counter(), state.get("n_iter", 0)))
        opt.zero_grad()
        f = objective()
        f.backward()
        return f

    opt.step(closure)
    per_iter, evals = iteration_times(stamps)
    durations = per_iter[-timed:]
    evals_per = sum(evals[-timed:]) / len(durations) if durations else 0.0
    iter_s = statistics.median(durations) if durations else 0.0
    return {"op": "lbfgs_overhead", "size": size, "n": 3 * size * size, "history": history,
            "history_used": min(history, max(0, len(per_iter))), "iteration_s": round(iter_s, 6),
            "objective_s": round(objective_s, 6), "evals_per_iteration": round(evals_per, 3),
            "overhead_s": round(max(0.0, iter_s - evals_per * objective_s), 6),
            "iterations": state.get("n_iter", 0)}


def iteration_times(stamps):
    """From (time, n_iter) at each evaluation: the duration and evaluations of every
    iteration that has a successor (iteration k runs from its first evaluation to k+1's)."""
    first, count = {}, {}
    for t, k in stamps:
        first.setdefault(k, t)
        count[k] = count.get(k, 0) + 1
    ks = sorted(first)
    durations = [first[ks[i + 1]] - first[ks[i]] for i in range(len(ks) - 1) if ks[i] >= 1]
    evals = [count[ks[i]] for i in range(len(ks) - 1) if ks[i] >= 1]
    return durations, evals


def bench_transfer(features, size, iterations, device):
    """torch.optim.LBFGS as clstyle runs it (history 100, strong Wolfe, max_eval 1.25 x
    iterations) from the content image: seconds per iteration after the first."""
    content, content_target, style_targets = random_problem(features, size, device)
    x = content.clone().requires_grad_()
    opt = torch.optim.LBFGS([x], max_iter=iterations, history_size=100,
                            line_search_fn="strong_wolfe")
    state = opt.state[x]
    stamps = []

    def closure():
        stamps.append((time.perf_counter(), state.get("n_iter", 0)))
        opt.zero_grad()
        total = losses(features, x, content_target, style_targets)[0]
        total.backward()
        return total

    start = time.perf_counter()
    opt.step(closure)
    sync(device)
    total_s = time.perf_counter() - start
    durations, evals = iteration_times(stamps + [(time.perf_counter(), 10**9)])
    after_first = durations[1:] if len(durations) > 1 else durations
    evals_after = evals[1:] if len(evals) > 1 else evals
    iters = state.get("n_iter", 0)
    return {"op": "lbfgs_iteration", "size": size,
            "iteration_s": round(statistics.median(after_first), 6) if after_first else 0.0,
            "evals_per_iteration": round(sum(evals_after) / len(evals_after), 3)
            if evals_after else 0.0, "first_excluded": len(durations) > 1,
            "mean_iteration_s": round(total_s / iters, 6) if iters else 0.0,
            "eval_s": round(total_s / len(stamps), 6), "iterations": iters,
            "evals": len(stamps), "total_s": round(total_s, 3)}


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
    ap.add_argument("--ops", action="store_true",
                    help="the per-op report of clstyle-bench, not only the evaluation")
    ap.add_argument("--lbfgs-history", type=int, default=100)
    ap.add_argument("--transfer-iterations", type=int, default=8)
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
        if args.ops:
            for r in bench_convs(size, args.warmup, args.repeats, device) + \
                    bench_grams(size, args.warmup, args.repeats, device):
                results.append(r)
                if not args.json:
                    print(json.dumps(r), flush=True)
        seconds, peak = time_eval(features, size, args.warmup, args.repeats, device)
        results.append({"op": "eval", "size": size, "eval_s": round(seconds, 6),
                        "device_bytes": peak, "warmup": args.warmup, "repeats": args.repeats})
        if not args.json:
            mem = "" if peak is None else "   device memory %8.1f MiB" % (peak / 2**20)
            print("eval %4dx%-4d  %9.2f ms per evaluation%s" % (size, size, seconds * 1e3, mem),
                  flush=True)
        if args.ops:
            for r in (bench_lbfgs_overhead(size, args.lbfgs_history, args.repeats, device),
                      bench_transfer(features, size, args.transfer_iterations, device)):
                results.append(r)
                if not args.json:
                    print(json.dumps(r), flush=True)
    if args.json:
        print(json.dumps({"device": device_name(device), "results": results}))


if __name__ == "__main__":
    main()
