#!/usr/bin/env python3
"""The peer of `clstyle-bench --stylize`: fast style in PyTorch, one forward pass of the
TransformerNet of pytorch/examples fast_neural_style on a random SIZE x SIZE image.

As a user's frame costs it: the network on an image tensor of RGB 0..255 in inference mode,
the output clamped to 0..255 and copied back to the host (clstyle's cls_ffnet_run uploads,
runs and downloads). The median of --repeats runs after --warmup ones. The weights of
--model, a state_dict as pytorch/examples saves it (the old in*.running_mean / running_var
entries are deleted, as its `stylize` does), else random ones (speed does not depend on
values). The threads: --threads, default os.cpu_count(), as clstyle's PoCL device uses.

    python3 bench/peer/torch_ffnet.py --size 512 --size 1024 [--model PATH] [--repeats 3]
                                      [--warmup 1] [--threads N] [--json]
"""

import argparse
import json
import os
import re
import statistics
import time

import torch


# ---- TransformerNet, as in pytorch/examples fast_neural_style/neural_style/transformer_net.py


class ConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super().__init__()
        self.reflection_pad = torch.nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        return self.conv2d(self.reflection_pad(x))


class ResidualBlock(torch.nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in2 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.relu = torch.nn.ReLU()

    def forward(self, x):
        residual = x
        out = self.relu(self.in1(self.conv1(x)))
        out = self.in2(self.conv2(out))
        return out + residual


class UpsampleConvLayer(torch.nn.Module):
    """Nearest-neighbour upsampling, then a convolution (instead of a transposed one)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
        super().__init__()
        self.upsample = upsample
        self.reflection_pad = torch.nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        if self.upsample:
            x = torch.nn.functional.interpolate(x, mode="nearest", scale_factor=self.upsample)
        return self.conv2d(self.reflection_pad(x))


class TransformerNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = ConvLayer(3, 32, kernel_size=9, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(32, affine=True)
        self.conv2 = ConvLayer(32, 64, kernel_size=3, stride=2)
        self.in2 = torch.nn.InstanceNorm2d(64, affine=True)
        self.conv3 = ConvLayer(64, 128, kernel_size=3, stride=2)
        self.in3 = torch.nn.InstanceNorm2d(128, affine=True)
        self.res1 = ResidualBlock(128)
        self.res2 = ResidualBlock(128)
        self.res3 = ResidualBlock(128)
        self.res4 = ResidualBlock(128)
        self.res5 = ResidualBlock(128)
        self.deconv1 = UpsampleConvLayer(128, 64, kernel_size=3, stride=1, upsample=2)
        self.in4 = torch.nn.InstanceNorm2d(64, affine=True)
        self.deconv2 = UpsampleConvLayer(64, 32, kernel_size=3, stride=1, upsample=2)
        self.in5 = torch.nn.InstanceNorm2d(32, affine=True)
        self.deconv3 = ConvLayer(32, 3, kernel_size=9, stride=1)
        self.relu = torch.nn.ReLU()

    def forward(self, X):
        y = self.relu(self.in1(self.conv1(X)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.relu(self.in3(self.conv3(y)))
        y = self.res1(y)
        y = self.res2(y)
        y = self.res3(y)
        y = self.res4(y)
        y = self.res5(y)
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)


# ---- the benchmark


def load_net(path):
    net = TransformerNet()
    if path:
        state = torch.load(path, map_location="cpu", weights_only=True)
        for k in list(state.keys()):  # as pytorch/examples' stylize does
            if re.search(r"in\d+\.running_(mean|var)$", k):
                del state[k]
        net.load_state_dict(state)
    return net.float().eval()


def time_size(net, size, warmup, repeats):
    """Median and fastest seconds of one image: the forward pass, clamp, and the result on
    the host."""
    g = torch.Generator().manual_seed(size)
    x = torch.rand(1, 3, size, size, generator=g) * 255
    runs = []
    with torch.inference_mode():
        for r in range(warmup + repeats):
            start = time.perf_counter()
            y = net(x).clamp_(0, 255).numpy().copy()
            if r >= warmup:
                runs.append(time.perf_counter() - start)
    del y
    return statistics.median(runs), min(runs)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, action="append", help="image side (repeatable)")
    ap.add_argument("--model", help="TransformerNet state_dict (.pth; default: random weights)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="torch.set_num_threads (default: os.cpu_count())")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    sizes = args.size or [512, 1024]
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    net = load_net(args.model)
    info = {"device": "PyTorch %s CPU, %d threads" % (torch.__version__, torch.get_num_threads()),
            "torch": torch.__version__, "threads": torch.get_num_threads(), "cpu": cpu_model()}
    if not args.json:
        print("device: %s (%s)" % (info["device"], info["cpu"]), flush=True)
    results = []
    for size in sizes:
        seconds, fastest = time_size(net, size, args.warmup, args.repeats)
        results.append({"op": "stylize", "size": size, "s": round(seconds, 6),
                        "images_per_s": round(1.0 / seconds, 4), "min_s": round(fastest, 6),
                        "device_bytes": None, "warmup": args.warmup, "repeats": args.repeats})
        if not args.json:
            print("stylize %4dx%-4d  %9.2f ms per image  %7.3f images/s (fastest %.2f ms)"
                  % (size, size, seconds * 1e3, 1.0 / seconds, fastest * 1e3), flush=True)
    if args.json:
        print(json.dumps(dict(info, results=results)))


if __name__ == "__main__":
    main()
