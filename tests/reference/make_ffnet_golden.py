#!/usr/bin/env python3
"""Writes tests/data/golden/ffnet_{64x48,100x76}.gold and tests/data/images/ffnet_*.png: the
output of the fast-neural-style transformer network (TransformerNet of pytorch/examples
fast_neural_style, written out below) for the random weights that
`make-weights --arch transformer --seed 1` generates, which the C tests load from the same
generated files.

Run by hand from the repository root (not in CI), after building:
    /opt/torchenv/bin/python tests/reference/make_ffnet_golden.py \\
        build/tests/ffnet-seed1-pth.bin \\
        build/tests/ffnet-seed1-pth-legacy.bin build/tests/ffnet-seed1-safetensors.bin
The first file gives the goldens; every further file must hold the same tensors (after the
running statistics are dropped) and give a bit-identical output, or the script fails.
Needs torch 2.x, numpy, safetensors and Pillow.

Each case: an RGB image of integers 0..255 (smooth gradients plus seeded noise, so it
round-trips exactly through the 8-bit PNG saved beside it) as "input" [1, 3, H, W], and the
raw network output "output" [1, 3, H, W] (not clamped), computed in float32 as users run
the network; "output_f64", the same in float64, is stored where the file stays under
200 KB (64x48 only). The script asserts that the output spans 0..255: less than 20% of its
values lie outside (see tests/tools/random_ffnet.h for how the last conv is scaled).
"""

import os
import re
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from make_golden import write_golden  # noqa: E402

SIZES = ((64, 48), (100, 76))  # width, height
MAX_CLAMPED = 0.20


# --- pytorch/examples fast_neural_style/neural_style/transformer_net.py ---------------


class TransformerNet(torch.nn.Module):
    def __init__(self):
        super(TransformerNet, self).__init__()
        # Initial convolution layers
        self.conv1 = ConvLayer(3, 32, kernel_size=9, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(32, affine=True)
        self.conv2 = ConvLayer(32, 64, kernel_size=3, stride=2)
        self.in2 = torch.nn.InstanceNorm2d(64, affine=True)
        self.conv3 = ConvLayer(64, 128, kernel_size=3, stride=2)
        self.in3 = torch.nn.InstanceNorm2d(128, affine=True)
        # Residual layers
        self.res1 = ResidualBlock(128)
        self.res2 = ResidualBlock(128)
        self.res3 = ResidualBlock(128)
        self.res4 = ResidualBlock(128)
        self.res5 = ResidualBlock(128)
        # Upsampling Layers
        self.deconv1 = UpsampleConvLayer(128, 64, kernel_size=3, stride=1, upsample=2)
        self.in4 = torch.nn.InstanceNorm2d(64, affine=True)
        self.deconv2 = UpsampleConvLayer(64, 32, kernel_size=3, stride=1, upsample=2)
        self.in5 = torch.nn.InstanceNorm2d(32, affine=True)
        self.deconv3 = ConvLayer(32, 3, kernel_size=9, stride=1)
        # Non-linearities
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
        y = self.deconv3(y)
        return y


class ConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super(ConvLayer, self).__init__()
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        out = self.reflection_pad(x)
        out = self.conv2d(out)
        return out


class ResidualBlock(torch.nn.Module):
    """ResidualBlock
    introduced in: https://arxiv.org/abs/1512.03385
    recommended architecture: http://torch.ch/blog/2016/02/04/resnets.html
    """

    def __init__(self, channels):
        super(ResidualBlock, self).__init__()
        self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in2 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.relu = torch.nn.ReLU()

    def forward(self, x):
        residual = x
        out = self.relu(self.in1(self.conv1(x)))
        out = self.in2(self.conv2(out))
        out = out + residual
        return out


class UpsampleConvLayer(torch.nn.Module):
    """UpsampleConvLayer
    Upsamples the input and then does a convolution. This method gives better results
    compared to ConvTranspose2d.
    ref: http://distill.pub/2016/deconv-checkerboard/
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
        super(UpsampleConvLayer, self).__init__()
        self.upsample = upsample
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        x_in = x
        if self.upsample:
            x_in = torch.nn.functional.interpolate(x_in, mode='nearest', scale_factor=self.upsample)
        out = self.reflection_pad(x_in)
        out = self.conv2d(out)
        return out


# --- loading, as neural_style.py stylize() does ------------------------------------------


def load_state_dict(path):
    with open(path, "rb") as f:
        head = f.read(9)
    if len(head) == 9 and head[8:9] == b"{":  # safetensors: u64 header length, JSON
        import safetensors.torch

        state_dict = safetensors.torch.load_file(path)
    else:  # PyTorch zip or legacy
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    # remove saved deprecated running_* keys in InstanceNorm from the checkpoint
    for k in list(state_dict.keys()):
        if re.search(r'in\d+\.running_(mean|var)$', k):
            del state_dict[k]
    return state_dict


def load_model(path):
    state_dict = load_state_dict(path)
    model = TransformerNet()
    model.load_state_dict(state_dict)  # strict: every tensor present, nothing extra
    return model.eval(), state_dict


# --- images --------------------------------------------------------------------------------


def make_image(width, height, seed):
    """uint8 [H, W, 3]: per-channel gradients and a low-frequency wave, plus noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / (width - 1), y / (height - 1)
    base = np.stack([
        255 * u,
        255 * v,
        127.5 + 110 * np.sin(2 * np.pi * (1.3 * u + 0.7 * v) + rng.uniform(0, 2 * np.pi)),
    ], axis=-1)
    noise = rng.normal(0, 24, size=(height, width, 3))
    return np.clip(np.rint(base + noise), 0, 255).astype(np.uint8)


def save_png(path, pixels):
    from PIL import Image

    Image.fromarray(pixels, "RGB").save(path, optimize=False)
    back = np.asarray(Image.open(path).convert("RGB"))
    assert back.shape == pixels.shape and (back == pixels).all(), path
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


def stats(name, y):
    y = y.double()
    clamped = ((y < 0) | (y > 255)).double().mean().item()
    low, high = (y < 0).double().mean().item(), (y > 255).double().mean().item()
    print("%s: min %.2f max %.2f mean %.2f std %.2f; channel means %s; outside 0..255 %.2f%% "
          "(below %.2f%%, above %.2f%%)" % (
              name, y.min().item(), y.max().item(), y.mean().item(), y.std().item(),
              ["%.1f" % m for m in y.mean(dim=(0, 2, 3)).tolist()], 100 * clamped, 100 * low,
              100 * high))
    return clamped


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    torch.set_grad_enabled(False)
    model, state_dict = load_model(sys.argv[1])
    model64 = TransformerNet().double().eval()
    model64.load_state_dict({k: v.double() for k, v in state_dict.items()})
    others = [load_model(path) for path in sys.argv[2:]]
    for path, (_, other) in zip(sys.argv[2:], others):
        assert list(other) == list(state_dict), path
        assert all(torch.equal(other[k], v) for k, v in state_dict.items()), path
        print("%s: the same %d tensors" % (path, len(other)))

    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                         "data"))
    for seed, (width, height) in enumerate(SIZES):
        pixels = make_image(width, height, 4000 + seed)
        name = "ffnet_%dx%d" % (width, height)
        save_png(os.path.join(root, "images", name + ".png"), pixels)
        x = torch.from_numpy(pixels.astype(np.float32)).permute(2, 0, 1).unsqueeze(0)
        x = x.contiguous()
        y = model(x)
        y64 = model64(x.double())
        assert y.shape == x.shape, (y.shape, x.shape)
        for path, (other, _) in zip(sys.argv[2:], others):
            assert torch.equal(other(x), y), path
        clamped = stats(name + " float32", y)
        stats(name + " float64", y64)
        print("%s: float32 - float64: max |diff| %.3g, max relative to the output's range %.3g"
              % (name, (y.double() - y64).abs().max().item(),
                 (y.double() - y64).abs().max().item() / (y64.max() - y64.min()).item()))
        assert clamped < MAX_CLAMPED, (name, clamped)
        records = [("input", x), ("output", y)]
        values = sum(t.numel() for _, t in records) + y64.numel()
        if 4 * values + 200 < 200 * 1024:
            records.append(("output_f64", y64))
        else:
            print("%s: output_f64 left out (the file would exceed 200 KB)" % name)
        write_golden(os.path.join(root, "golden", name + ".gold"), records)


if __name__ == "__main__":
    main()
