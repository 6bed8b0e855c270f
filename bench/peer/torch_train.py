#!/usr/bin/env python3
"""The peer of `clstyle-bench --train`: fast-style training in PyTorch, the training loop of
pytorch/examples fast_neural_style (`neural_style.py train`) on a random batch.

TransformerNet (bench/peer/torch_ffnet.py, as in pytorch/examples) trained against
pytorch/examples' Vgg16 (torchvision's vgg16().features, built here from configuration D so
the state_dict names match and torchvision is not needed; the weights of --model, a VGG-16
state_dict such as `make-weights --arch vgg16 --format pth` writes), the same losses
(content at relu2_2, Gram matrices at relu1_2 .. relu4_3, content weight 1e5, style weight
1e10) and Adam (lr 1e-3). Each timed step is what neural_style.py does for a batch:
zero_grad, the transformer, normalize_batch of output and input, VGG-16 on both, the
losses, backward, optimizer.step and the losses' .item(). The batch, [BATCH][3][SIZE][SIZE]
in 0..255, and the SIZE x SIZE style image are clstyle-bench's own random numbers (its LCG,
seeds 41 and 43), made before any timing, so from the same weights both sides' first step
has the same losses. The transformer starts from --init (safetensors or .pth), else
PyTorch's default initialisation (seed 1); speed does not depend on values.

The first step is timed alone, then max(warmup, 1) - 1 more untimed, then --repeats timed:
their median and fastest. The threads: --threads, default os.cpu_count(), as clstyle's PoCL
device uses every CPU.

    python3 bench/peer/torch_train.py --model VGG16.pth [--init TRANSFORMER] [--size 256]...
                                      [--batch 4] [--repeats 5] [--warmup 1] [--threads N]
                                      [--json]
"""

import argparse
import json
import os
import re
import resource
import statistics
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torch_ffnet import TransformerNet, cpu_model  # noqa: E402

# pytorch/examples' Vgg16 (on torchvision's vgg16().features, built from configuration D),
# gram_matrix and normalize_batch, as the step-parity reference writes them out (it needs
# only torch and numpy at import).
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "reference"))
from make_train_golden import Vgg16, gram_matrix, normalize_batch, vgg16_features  # noqa: E402

CONTENT_WEIGHT = 1e5
STYLE_WEIGHT = 1e10
LR = 1e-3
BATCH_SEED = 41  # bench/bench_train.c's TRAIN_BATCH_SEED
STYLE_SEED = 43  # ... TRAIN_STYLE_SEED


# ---- the benchmark's data: clstyle-bench's generator


def lcg_values(count, seed):
    """bench_random_image's numbers: seed = seed * 1664525 + 1013904223 (mod 2^32) before
    each value, the value (seed >> 8) / 2^24 * 255 in float32. Vectorised: the n-th seed is
    a^n seed0 + c (1 + a + .. + a^(n-1)), wrapping uint64 arithmetic taken mod 2^32."""
    a, c = np.uint64(1664525), np.uint64(1013904223)
    with np.errstate(over="ignore"):
        powers = np.cumprod(np.full(count, a, dtype=np.uint64))  # a^1 .. a^count
        sums = np.cumsum(np.concatenate(([np.uint64(1)], powers[:-1])))  # 1 + .. + a^(n-1)
        seeds = (powers * np.uint64(seed) + c * sums) & np.uint64(0xFFFFFFFF)
    return ((seeds >> np.uint64(8)).astype(np.float32) / np.float32(1 << 24)
            * np.float32(255.0))


def random_batch(batch, size):
    """bench_train.c's random_batch: [batch][3][size][size], planar, in order."""
    v = lcg_values(batch * 3 * size * size, BATCH_SEED)
    return torch.from_numpy(v.reshape(batch, 3, size, size).copy())


def random_style(size):
    """bench_random_image(size, 43): size x size, R G B per pixel, as a [3][size][size]."""
    v = lcg_values(size * size * 3, STYLE_SEED).reshape(size, size, 3)
    return torch.from_numpy(np.ascontiguousarray(v.transpose(2, 0, 1)))


def read_safetensors(path):
    """A safetensors file's tensors: with the safetensors package if there is one, else read
    here (an 8-byte little-endian header length, the JSON header, the raw data), so the peer's
    venv needs only torch and numpy."""
    try:
        import safetensors.torch
    except ImportError:
        pass
    else:
        return safetensors.torch.load_file(path)
    dtypes = {"F32": np.float32, "F64": np.float64, "F16": np.float16}
    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
        data = f.read()
    state = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] not in dtypes:
            sys.exit("%s: tensor %s is %s; install safetensors to read it"
                     % (path, name, t["dtype"]))
        begin, end = t["data_offsets"]
        v = np.frombuffer(data[begin:end], dtype=np.dtype(dtypes[t["dtype"]]).newbyteorder("<"))
        state[name] = torch.from_numpy(v.astype(np.float32).reshape(t["shape"]))
    return state


def load_transformer(path):
    torch.manual_seed(1)  # the initialisation without a file: the same for every size
    net = TransformerNet()
    if path:
        with open(path, "rb") as f:
            head = f.read(9)
        if len(head) == 9 and head[8:9] == b"{":  # safetensors: u64 header length, JSON
            state = read_safetensors(path)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
        for k in list(state.keys()):  # as pytorch/examples does
            if re.search(r"in\d+\.running_(mean|var)$", k):
                del state[k]
        net.load_state_dict(state)
    return net.float()


# ---- neural_style.py train, one batch a step


class Trainer:
    def __init__(self, vgg_path, init, size, batch):
        self.transformer = load_transformer(init)
        self.optimizer = torch.optim.Adam(self.transformer.parameters(), LR)
        self.mse_loss = torch.nn.MSELoss()
        self.vgg = Vgg16(vgg16_features(vgg_path), requires_grad=False)
        style = random_style(size).repeat(batch, 1, 1, 1)
        with torch.no_grad():  # neural_style.py keeps no graph of it either (no grad needed)
            features_style = self.vgg(normalize_batch(style))
            self.gram_style = [gram_matrix(y) for y in features_style]
        self.transformer.train()

    def step(self, x):
        """One batch of neural_style.py's loop; x is consumed (normalize_batch divides it in
        place). Returns the weighted losses (content, style, total)."""
        n_batch = len(x)
        self.optimizer.zero_grad()

        y = self.transformer(x)

        y = normalize_batch(y)
        x = normalize_batch(x)

        features_y = self.vgg(y)
        features_x = self.vgg(x)

        content_loss = CONTENT_WEIGHT * self.mse_loss(features_y.relu2_2, features_x.relu2_2)

        style_loss = 0.
        for ft_y, gm_s in zip(features_y, self.gram_style):
            gm_y = gram_matrix(ft_y)
            style_loss += self.mse_loss(gm_y, gm_s[:n_batch, :, :])
        style_loss *= STYLE_WEIGHT

        total_loss = content_loss + style_loss
        total_loss.backward()
        self.optimizer.step()
        return content_loss.item(), style_loss.item(), total_loss.item()


def time_train(args, size):
    """The first step, max(warmup, 1) - 1 untimed, --repeats timed, from a fresh trainer."""
    start = time.perf_counter()
    trainer = Trainer(args.model, args.init, size, args.batch)
    create_s = time.perf_counter() - start
    batch = random_batch(args.batch, size)

    def timed_step():
        x = batch.clone()  # a fresh batch, as the data loader gives, outside the timing
        start = time.perf_counter()
        losses = trainer.step(x)
        return time.perf_counter() - start, losses

    first_s, first_losses = timed_step()
    for _ in range(max(args.warmup, 1) - 1):
        timed_step()
    runs = []
    last_losses = first_losses
    for _ in range(args.repeats):
        seconds, last_losses = timed_step()
        runs.append(seconds)
    median = statistics.median(runs)
    as_dict = lambda l: {"content": l[0], "style": l[1], "total": l[2]}  # noqa: E731
    return {"op": "train", "size": size, "batch": args.batch, "s": round(median, 6),
            "images_per_s": round(args.batch / median, 4), "min_s": round(min(runs), 6),
            "first_s": round(first_s, 6), "create_s": round(create_s, 6),
            "device_bytes": None, "plan_bytes": None, "weight_bytes": None,
            # the whole process's peak resident memory (Linux: ru_maxrss in KiB), libraries
            # and both networks included: PyTorch's nearest figure to a device memory
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "first_loss": as_dict(first_losses), "last_loss": as_dict(last_losses),
            "warmup": max(args.warmup, 1), "repeats": args.repeats}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="VGG-16 state_dict (.pth)")
    ap.add_argument("--init", help="TransformerNet weights (safetensors or .pth; default: "
                    "PyTorch's initialisation, seed 1)")
    ap.add_argument("--size", type=int, action="append",
                    help="image side (repeatable; default 256)")
    ap.add_argument("--batch", type=int, default=4, help="images per step (default 4)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="torch.set_num_threads (default: os.cpu_count())")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    sizes = args.size or [256]
    if args.repeats < 1 or args.warmup < 0 or args.batch < 1 or min(sizes) < 16:
        ap.error("bad --repeats, --warmup, --batch or --size")
    torch.set_num_threads(args.threads)
    info = {"device": "PyTorch %s CPU, %d threads" % (torch.__version__, torch.get_num_threads()),
            "torch": torch.__version__, "threads": torch.get_num_threads(), "cpu": cpu_model()}
    if not args.json:
        print("device: %s (%s)" % (info["device"], info["cpu"]), flush=True)
    results = []
    for size in sizes:
        r = time_train(args, size)
        results.append(r)
        if args.json:
            continue
        print("train %4dx%-4d batch %d  %9.3f s per step  %7.3f images/s (fastest %.3f s)  "
              "first step %.3f s (set up in %.3f s)\n      peak RSS %.1f MiB; first loss %.6g "
              "(content %.6g, style %.6g)"
              % (r["size"], r["size"], r["batch"], r["s"], r["images_per_s"], r["min_s"],
                 r["first_s"], r["create_s"], r["peak_rss_bytes"] / 2**20,
                 r["first_loss"]["total"], r["first_loss"]["content"],
                 r["first_loss"]["style"]), flush=True)
    if args.json:
        print(json.dumps(dict(info, results=results)))


if __name__ == "__main__":
    main()
