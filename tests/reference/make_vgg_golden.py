#!/usr/bin/env python3
"""Writes tests/data/golden/vgg19_*.gold: PyTorch's VGG-19 taps and input gradient for the
random weights that `make-weights --arch vgg19 --format pth --seed 1` generates, which the
C network test loads from the same generated file.

Run by hand from the repository root (not in CI), after building:
    build/tests/make-weights --arch vgg19 --format pth --seed 1 /tmp/vgg19-seed1.pth
    python3 tests/reference/make_vgg_golden.py /tmp/vgg19-seed1.pth
Needs torch 2.x and numpy; torchvision is not needed (the network is built here from
torchvision's configuration E, so the state_dict names match).

Each case: an image in clstyle's input space (RGB 0..255 minus the ImageNet mean), the
outputs of the taps conv1_1, relu2_1, conv4_2 (pre-ReLU) and relu5_1, and the gradient of
loss = sum over taps of mean(tap^2) with respect to the image. Computed in float32, as
clstyle computes: in float64 a few max-pooling windows whose two largest values differ by
less than float32 resolution pick another maximum than any float32 computation would, which
moves that window's gradient (the avg-pooling case is float32 too, for uniformity). The two early taps are large, so only their
first 4 channels are stored (names end in _c4).

A ReLU whose input lies within float32 rounding of 0, or a max-pooling window whose two
largest inputs are that close, may decide either way in any float32 implementation, which
moves the input gradient in that unit's receptive field. Such inputs are ill-conditioned
test cases, so images are drawn until none of the ReLU inputs or pooling windows up to
relu5_1 (checked in float64) is within MARGIN of the layer's largest magnitude.
"""

import copy
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from make_golden import write_golden  # noqa: E402

CFG_E = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
         512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]
MEAN = (123.675, 116.28, 103.53)
TAPS = {"conv1_1": 0, "relu2_1": 6, "conv4_2": 21, "relu5_1": 29}  # torchvision indices


MARGIN = 1e-6  # relative distance from a ReLU's kink or a max-pooling tie, see below


def vgg19_features(pooling):
    layers, cin = [], 3
    for v in CFG_E:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=False)]
            cin = v
    return nn.Sequential(*layers)


def load_features(path, pooling):
    state = torch.load(path, map_location="cpu", weights_only=True)
    features = vgg19_features(pooling)
    own = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    features.load_state_dict(own)
    return features.float()


def well_conditioned(features64, image):
    """No ReLU input near 0 and no max-pooling window with a near tie, relative to the
    layer's largest magnitude (features64: the network in float64)."""
    h = torch.from_numpy(image).double()
    for i, layer in enumerate(features64):
        if i > max(TAPS.values()):
            break
        scale = h.abs().max()
        if isinstance(layer, nn.ReLU) and (h.abs() < MARGIN * scale).any():
            return False
        if isinstance(layer, nn.MaxPool2d):
            n, c, height, width = h.shape
            windows = h[:, :, : height // 2 * 2, : width // 2 * 2]
            windows = windows.reshape(n, c, height // 2, 2, width // 2, 2)
            windows = windows.permute(0, 1, 2, 4, 3, 5).reshape(n, c, height // 2, width // 2, 4)
            top = windows.topk(2, dim=-1).values
            if ((top[..., 0] - top[..., 1] < MARGIN * scale) & (top[..., 0] > 0)).any():
                return False
        h = layer(h)
    return True


def draw_image(rng, height, width):
    image = rng.uniform(0, 255, size=(1, 3, height, width)).astype(np.float32)
    return image - np.array(MEAN, dtype=np.float32).reshape(1, 3, 1, 1)


def run_case(features, rng, height, width, prefix):
    """The golden records of one image; prefix goes in front of every name."""
    image = draw_image(rng, height, width)
    draws, features64 = 1, copy.deepcopy(features).double()
    while not well_conditioned(features64, image):
        image = draw_image(rng, height, width)
        draws += 1
    print("%dx%d: a well-conditioned image after %d draws" % (height, width, draws))
    x = torch.from_numpy(image).requires_grad_()
    outputs, h = {}, x
    for i, layer in enumerate(features):
        if i > max(TAPS.values()):
            break
        h = layer(h)
        outputs[i] = h
    loss = sum((outputs[i] ** 2).mean() for i in TAPS.values())
    (grad,) = torch.autograd.grad(loss, x)
    records = [(prefix + "image", x), (prefix + "loss", loss)]
    for name, i in TAPS.items():
        tap = outputs[i]
        if name in ("conv1_1", "relu2_1"):
            records.append((prefix + name + "_c4", tap[:, :4]))
        else:
            records.append((prefix + name, tap))
    records.append((prefix + "grad_image", grad))
    return records


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    torch.manual_seed(0)
    rng = np.random.default_rng(2024)
    out_dir = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "data", "golden"))
    for pooling, height, width in (("max", 40, 56), ("avg", 37, 53)):
        records = run_case(load_features(sys.argv[1], pooling), rng, height, width, "")
        name = "vgg19_%s_%dx%d.gold" % (pooling, height, width)
        write_golden(os.path.join(out_dir, name), records)


if __name__ == "__main__":
    main()
