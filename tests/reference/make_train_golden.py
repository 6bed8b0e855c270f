#!/usr/bin/env python3
"""Writes tests/data/golden/train_steps.gold and train_steps_lr1e-4.gold, the references for
`clstyle train`'s step-parity test: the training loop of pytorch/examples fast_neural_style (`neural_style.py train`, the
loop written out below line for line) run for 4 steps from given initial TransformerNet
weights, against a VGG-16 with given (random) weights. Also writes the tiny data set it
trains on, tests/data/images/train/photos/img{0..7}.png (64x64) and the style image
tests/data/images/train/style.png (40 wide, 48 high).

Run by hand from the repository root (not in CI), after building:
    build/tests/make-weights --arch vgg16 --format pth --seed 1 /tmp/vgg16-seed1.pth
    /opt/torchenv/bin/python tests/reference/make_train_golden.py /tmp/vgg16-seed1.pth \\
        build/tests/ffnet-seed1-safetensors.bin [--debug /tmp/train_debug.gold]
Needs torch 2.x, numpy, safetensors and Pillow; torchvision is not needed (VGG-16's
`features` is built here from torchvision's configuration D, so the state_dict names
match, and ToTensor / ImageFolder / DataLoader are done by hand as torchvision does them).

The arguments of the run, as neural_style.py train takes them:
    --dataset tests/data/images/train --style-image tests/data/images/train/style.png
    --batch-size 2 --epochs 1 --image-size 64 (no --style-size) --content-weight 1e5
    --style-weight 1e10 --lr 1e-3 (train_steps.gold), and again with --lr 1e-4
    (train_steps_lr1e-4.gold: the steps and final weights only). At the default learning
    rate the trajectory amplifies rounding about tenfold a step (below); at 1e-4 PyTorch
    float32 with 2 threads stays within 5e-5 of 1 thread over the 4 steps, so that run can
    be held to 1e-3.
ImageFolder's order (file names sorted) and no shuffling: step k trains on img{2k-2} and
img{2k-1}. Adam is PyTorch's default CPU implementation (betas 0.9, 0.999, eps 1e-8, the
single-tensor loop): m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
Everything is float32 on the CPU, one thread, deterministic algorithms: the output is
byte-identical from run to run for a torch version (made with torch 2.15.0).

Golden records (all float32):
  step{k}.content, step{k}.style, step{k}.total, k = 1..4: the weighted losses of step k as
      neural_style.py computes them (content_weight * mse(relu2_2), style_weight * sum of
      the four Gram mse's, their sum), before that step's update;
  y1: step 1's transformer output (before normalize_batch), sampled as below;
  grad1.NAME: every parameter's gradient at step 1, sampled;
  for every state_dict tensor NAME of TransformerNet (in state_dict order), after the 4th
  update:
      final_norm.NAME: its L2 norm (computed in float64), a scalar;
      final.NAME: the tensor, sampled.
  Sampled: the tensor flattened (C order); the whole of it where it has at most 2048 values,
  else, to keep the file under 200 KB, 1024 samples of it: the entries at flat indices
  floor(i * count / 1024), i = 0..1023 (count = its number of values), a 1-d tensor.
Dead parameters: the bias of every conv that an InstanceNorm follows (all but deconv3's)
and res1..res5's in2.bias (a per-channel constant on the residual stream, which reaches the
output only through convs followed by an InstanceNorm) do not change the output, so their
exact gradient is zero and PyTorch's is rounding noise (up to ~0.1, against gradients of
1e4..1e5 elsewhere), which Adam turns into steps of about +-lr: their final values are
noise, not to be compared (the script prints the size of their step-1 gradients).

The trajectory is ill-conditioned: Adam moves every weight by about lr whatever the
gradient's size, and it amplifies rounding differences by about 10x per step. Step 1 is
reproducible to float32 rounding; later steps less so (see the README for the figures
against a float64 run and against another thread count; --compare-f64 reruns the loop in
float64 and prints the differences).

With --debug OUT.gold it also writes OUT.gold (for debugging an implementation, not
committed, no size limit): grad1.NAME, every parameter's full gradient at step 1; y1, step
1's transformer output [2, 3, 64, 64] before normalize_batch; step1.style.relu1_2 ..
step1.style.relu4_3, the unweighted Gram mse of each tap at step 1; gram_style.relu1_2 ..
gram_style.relu4_3, the style image's Grams (one image, [C, C]); after1.NAME, every
parameter after the first update, in full.
"""

import argparse
import math
import os
import sys
from collections import namedtuple

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from make_golden import write_golden  # noqa: E402
from make_ffnet_golden import TransformerNet, load_state_dict, make_image  # noqa: E402

BATCH_SIZE = 2
EPOCHS = 1
IMAGE_SIZE = 64
CONTENT_WEIGHT = 1e5
STYLE_WEIGHT = 1e10
LR = 1e-3
LOW_LR = 1e-4  # the second, well-conditioned run
N_IMAGES = 8  # 4 steps
STYLE_SIZE = (40, 48)  # width, height
FULL_MAX = 2048  # tensors up to this many values are stored whole
SAMPLES = 1024  # else this many samples
TAP_NAMES = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
CFG_D = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
         512, 512, 512, "M"]


# --- torchvision's vgg16().features, and pytorch/examples' vgg.py --------------------------


def vgg16_features(path):
    layers, cin = [], 3
    for v in CFG_D:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(cin, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            cin = v
    features = nn.Sequential(*layers)
    state = torch.load(path, map_location="cpu", weights_only=True)
    own = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    features.load_state_dict(own)  # strict: every conv of the 13 present
    return features


class Vgg16(torch.nn.Module):
    def __init__(self, vgg_pretrained_features, requires_grad=False):
        super(Vgg16, self).__init__()
        self.slice1 = torch.nn.Sequential()
        self.slice2 = torch.nn.Sequential()
        self.slice3 = torch.nn.Sequential()
        self.slice4 = torch.nn.Sequential()
        for x in range(4):
            self.slice1.add_module(str(x), vgg_pretrained_features[x])
        for x in range(4, 9):
            self.slice2.add_module(str(x), vgg_pretrained_features[x])
        for x in range(9, 16):
            self.slice3.add_module(str(x), vgg_pretrained_features[x])
        for x in range(16, 23):
            self.slice4.add_module(str(x), vgg_pretrained_features[x])
        if not requires_grad:
            for param in self.parameters():
                param.requires_grad = False

    def forward(self, X):
        h = self.slice1(X)
        h_relu1_2 = h
        h = self.slice2(h)
        h_relu2_2 = h
        h = self.slice3(h)
        h_relu3_3 = h
        h = self.slice4(h)
        h_relu4_3 = h
        vgg_outputs = namedtuple("VggOutputs", ['relu1_2', 'relu2_2', 'relu3_3', 'relu4_3'])
        out = vgg_outputs(h_relu1_2, h_relu2_2, h_relu3_3, h_relu4_3)
        return out


# --- pytorch/examples fast_neural_style/neural_style/utils.py -----------------------------


def gram_matrix(y):
    (b, ch, h, w) = y.size()
    features = y.view(b, ch, w * h)
    features_t = features.transpose(1, 2)
    gram = features.bmm(features_t) / (ch * h * w)
    return gram


def normalize_batch(batch):
    # normalize using imagenet mean and std
    mean = batch.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = batch.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
    batch = batch.div_(255.0)
    return (batch - mean) / std


# --- images and torchvision's transforms ----------------------------------------------------


def ensure_png(path, pixels):
    """Writes pixels (uint8 [H, W, 3]) to path unless it already holds exactly them."""
    from PIL import Image

    if os.path.exists(path):
        back = np.asarray(Image.open(path).convert("RGB"))
        if back.shape == pixels.shape and (back == pixels).all():
            return
        sys.exit("%s exists with other pixels; delete it to regenerate" % path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(pixels, "RGB").save(path, optimize=False)
    back = np.asarray(Image.open(path).convert("RGB"))
    assert back.shape == pixels.shape and (back == pixels).all(), path
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


def load_image(path):
    """utils.load_image with size None (and ImageFolder's pil_loader): PIL, as RGB."""
    from PIL import Image

    with open(path, "rb") as f:
        return Image.open(f).convert("RGB")


def to_tensor_mul255(img):
    """transforms.ToTensor() then transforms.Lambda(lambda x: x.mul(255)), as torchvision
    does them: uint8 HWC -> float32 CHW, div(255), then mul(255)."""
    t = torch.from_numpy(np.array(img, np.uint8, copy=True))
    t = t.view(img.size[1], img.size[0], 3).permute((2, 0, 1)).contiguous()
    return t.to(dtype=torch.get_default_dtype()).div(255).mul(255)


def training_batches(photos_dir):
    """ImageFolder(dataset) with transform Resize(64), CenterCrop(64), ToTensor, mul(255),
    and DataLoader(batch_size=2) without shuffling: batches of [2, 3, 64, 64]. The images
    are already 64x64, so Resize (an int size equal to the shorter side: torchvision returns
    the image unchanged) and CenterCrop (to the image's own size) are the identity; checked
    here rather than reimplemented."""
    names = sorted(n for n in os.listdir(photos_dir) if n.lower().endswith(".png"))
    assert len(names) == N_IMAGES, names
    samples = []
    for name in names:
        img = load_image(os.path.join(photos_dir, name))
        assert img.size == (IMAGE_SIZE, IMAGE_SIZE), (name, img.size)
        samples.append(to_tensor_mul255(img))
    return [torch.stack(samples[i:i + BATCH_SIZE]) for i in range(0, len(samples), BATCH_SIZE)]


def sampled(t):
    flat = t.detach().reshape(-1)
    count = flat.numel()
    if count <= FULL_MAX:
        return flat.clone()
    index = torch.tensor([i * count // SAMPLES for i in range(SAMPLES)], dtype=torch.long)
    return flat[index].clone()


# --- neural_style.py train ------------------------------------------------------------------


def train(vgg_path, transformer_path, data_root, debug, label=""):
    transformer = TransformerNet()
    transformer.load_state_dict(load_state_dict(transformer_path))
    initial = {k: v.detach().clone() for k, v in transformer.state_dict().items()}
    train_loader = training_batches(os.path.join(data_root, "photos"))

    optimizer = torch.optim.Adam(transformer.parameters(), LR)
    mse_loss = torch.nn.MSELoss()

    vgg = Vgg16(vgg16_features(vgg_path), requires_grad=False)
    style = load_image(os.path.join(data_root, "style.png"))  # style_size None: no resize
    assert style.size == STYLE_SIZE, style.size
    style = to_tensor_mul255(style)
    style = style.repeat(BATCH_SIZE, 1, 1, 1)

    features_style = vgg(normalize_batch(style))
    gram_style = [gram_matrix(y) for y in features_style]

    records, extra = [], []
    if debug:
        extra += [("gram_style." + n, g[0]) for n, g in zip(TAP_NAMES, gram_style)]
    losses = []
    for e in range(EPOCHS):
        transformer.train()
        count = 0
        for batch_id, x in enumerate(train_loader):
            n_batch = len(x)
            count += n_batch
            optimizer.zero_grad()

            y = transformer(x)
            if batch_id == 0:
                records.append(("y1", sampled(y)))
            if debug and batch_id == 0:
                extra.append(("y1", y.detach().clone()))

            y = normalize_batch(y)
            x = normalize_batch(x)

            features_y = vgg(y)
            features_x = vgg(x)

            content_loss = CONTENT_WEIGHT * mse_loss(features_y.relu2_2, features_x.relu2_2)

            style_loss = 0.
            terms = []
            for ft_y, gm_s in zip(features_y, gram_style):
                gm_y = gram_matrix(ft_y)
                term = mse_loss(gm_y, gm_s[:n_batch, :, :])
                terms.append(term.detach().clone())
                style_loss += term
            style_loss *= STYLE_WEIGHT

            total_loss = content_loss + style_loss
            total_loss.backward()
            if debug and batch_id == 0:
                extra += [("step1.style." + n, t) for n, t in zip(TAP_NAMES, terms)]
                extra += [("grad1." + n, p.grad.detach().clone())
                          for n, p in transformer.named_parameters()]
            if batch_id == 0:
                grad1 = {n: p.grad.detach().clone() for n, p in transformer.named_parameters()}
                records += [("grad1." + n, sampled(g)) for n, g in grad1.items()]
            optimizer.step()
            if debug and batch_id == 0:
                extra += [("after1." + n, v.detach().clone())
                          for n, v in transformer.state_dict().items()]

            k = batch_id + 1
            step = (content_loss.item(), style_loss.item(), total_loss.item())
            losses.append(step)
            print("%sstep %d: content %.9g style %.9g total %.9g; style terms (unweighted) %s"
                  % ((label, k) + step + (" ".join("%.6g" % t.item() for t in terms),)))
            records += [("step%d.content" % k, content_loss.detach()),
                        ("step%d.style" % k, style_loss.detach()),
                        ("step%d.total" % k, total_loss.detach())]

    final = transformer.state_dict()
    for name, value in final.items():
        records.append(("final_norm." + name, value.detach().double().norm().item()))
        records.append(("final." + name, sampled(value)))
    return records, extra, losses, initial, final, grad1


def dead(name):
    """Parameters with zero exact gradient (see the docstring)."""
    return ((name.endswith("conv2d.bias") and not name.startswith("deconv3."))
            or (name.startswith("res") and name.endswith(".in2.bias")))


def report(losses, initial, final, grad1):
    flat = [v for step in losses for v in step]
    if any(math.isnan(v) or math.isinf(v) for v in flat):
        print("WARNING: a loss is NaN or infinite")
    styles = [s for _, s, _ in losses]
    if max(styles) - min(styles) <= 1e-6 * abs(max(styles)):
        print("WARNING: the style loss does not change from step to step")
    worst, worst_name = 0.0, None
    for name, w0 in initial.items():
        w0 = w0.double()
        moved = (final[name].double() - w0).norm().item() / w0.norm().item()
        if moved > worst:
            worst, worst_name = moved, name
    print("weights moved: max over tensors ||w_final - w_init|| / ||w_init|| = %.4g (%s)"
          % (worst, worst_name))
    noise = max(g.abs().max().item() for n, g in grad1.items() if dead(n))
    live = min(g.abs().max().item() for n, g in grad1.items() if not dead(n))
    print("dead parameters (%d tensors): step-1 gradient (0 in exact arithmetic) max |g| %.3g; "
          "the other tensors' max |g| at least %.3g"
          % (sum(map(dead, grad1)), noise, live))
    assert noise < 1e-3 * live, "a parameter thought dead has a real gradient"


def compare_f64(vgg_path, transformer_path, data_root, losses, final):
    torch.set_default_dtype(torch.float64)
    _, _, losses64, _, final64, _ = train(vgg_path, transformer_path, data_root, False,
                                       "float64 ")
    torch.set_default_dtype(torch.float32)
    for k, (a, b) in enumerate(zip(losses, losses64)):
        print("step %d: float32 vs float64, relative difference: content %.3g style %.3g "
              "total %.3g" % ((k + 1,) + tuple(abs(x - y) / abs(y) for x, y in zip(a, b))))
    diff = {n: (final[n].double() - final64[n]).abs() for n in final if not dead(n)}
    values = sum(d.numel() for d in diff.values())
    print("final weights (live tensors) float32 vs float64: max |diff| %.3g; %.2f%% of values "
          "differ by more than lr / 10" % (
              max(d.max().item() for d in diff.values()),
              100 * sum((d > LR / 10).sum().item() for d in diff.values()) / values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("vgg16", help="make-weights --arch vgg16 --format pth --seed 1 file")
    parser.add_argument("transformer", help="make-weights --arch transformer --seed 1 file")
    parser.add_argument("--debug", metavar="OUT.gold",
                        help="also write step 1's gradients, output, Grams and weights")
    parser.add_argument("--compare-f64", action="store_true",
                        help="also run the loop in float64 and print how far it is")
    args = parser.parse_args()

    torch.set_num_threads(1)  # a thread count of its own could change the rounding
    torch.use_deterministic_algorithms(True)
    torch.set_grad_enabled(True)

    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                         "data"))
    data_root = os.path.join(root, "images", "train")
    for i in range(N_IMAGES):
        ensure_png(os.path.join(data_root, "photos", "img%d.png" % i),
                   make_image(IMAGE_SIZE, IMAGE_SIZE, 5000 + i))
    ensure_png(os.path.join(data_root, "style.png"), make_image(*STYLE_SIZE, 5100))

    records, extra, losses, initial, final, grad1 = train(
        args.vgg16, args.transformer, data_root, args.debug)
    report(losses, initial, final, grad1)
    if args.compare_f64:
        compare_f64(args.vgg16, args.transformer, data_root, losses, final)
    write_golden(os.path.join(root, "golden", "train_steps.gold"), records)
    global LR
    LR = LOW_LR
    low, _, _, _, _, _ = train(args.vgg16, args.transformer, data_root, False, "lr 1e-4 ")
    write_golden(os.path.join(root, "golden", "train_steps_lr1e-4.gold"),
                 [r for r in low if not r[0].startswith(("y1", "grad1."))])
    if args.debug:
        write_golden(args.debug, extra, max_bytes=None)


if __name__ == "__main__":
    main()
