#!/usr/bin/env python3
"""`clstyle train` end to end on the OpenCL device with random VGG-16 and TransformerNet
weights: a run's log, progress and model (which `clstyle stylize` then loads); the steps of
pytorch/examples' loop from --init at lr 1e-4 against PyTorch (train_steps_lr1e-4.gold of
tests/reference/make_train_golden.py); checkpoints; usage errors; bad input (an empty or
all-broken dataset, broken photos among good ones, a style image too small, VGG-19 weights or
none, a loss that is not finite, a full disk while checkpointing) and Ctrl-C.
Usage: test_cli_train.py CLSTYLE GOLDEN_DIR TRAIN_DATA VGG16 VGG19 FFNET_SAFETENSORS"""
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile

import harness
from harness import check

CLSTYLE, GOLDEN, DATA, VGG16, VGG19, INIT = sys.argv[1:7]
PHOTOS = os.path.join(DATA, "photos")
STYLE = os.path.join(DATA, "style.png")


def run(*args, env=None, timeout=600, preexec_fn=None):
    if preexec_fn is None:
        return harness.run(CLSTYLE, *args, env=env, timeout=timeout)
    r = subprocess.run(harness.command(CLSTYLE, *args), capture_output=True, text=True,
                       timeout=timeout * (20 if harness.WRAPPER else 1), env=env,
                       preexec_fn=preexec_fn)
    return r


# A short run: 32x32 photos, batch 4 (2 steps an epoch of the 8 photos); under valgrind
# (QUICK) 16x16 and batch 8, one step an epoch.
SIZE, BATCH = ("16", 8) if harness.QUICK else ("32", 4)


def train(tmp, out, *extra, vgg=VGG16, photos=PHOTOS, style=STYLE, env=None, **kw):
    """A short run, 1 epoch unless extra says."""
    return run("train", "-s", style, "--dataset", photos, "-o", out, "--vgg", vgg,
               "--image-size", SIZE, "--batch-size", str(BATCH), "--epochs", "1", *extra,
               env=env, **kw)


def safetensors_names(path):
    """The tensor names of a safetensors file, from its JSON header."""
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
    return sorted(k for k in header if k != "__metadata__")


def read_log(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def loads(tmp, model):
    """Whether `clstyle stylize` runs the model on a photo."""
    out = os.path.join(tmp, "styled.png")
    r = run("stylize", "-m", model, "-c", os.path.join(PHOTOS, "img0.png"), "-o", out, "-q")
    return r.returncode == 0 and os.path.exists(out)


def a_run(tmp):
    out, log = os.path.join(tmp, "a.safetensors"), os.path.join(tmp, "a.jsonl")
    r = train(tmp, out, "--epochs", "2", "--log", log)
    steps = 16 // BATCH
    check("a run writes the model and says what it did", r.returncode == 0 and
          os.path.exists(out) and "trained %d steps on 16 images" % steps in r.stderr and
          "needs" in r.stderr and "MiB of device memory" in r.stderr, r)
    entries = read_log(log) if os.path.exists(log) else []
    keys = {"step", "images", "content", "style", "total", "elapsed_s"}
    check("--log: one JSON object per step with step, images, losses and elapsed_s",
          [e.get("step") for e in entries] == list(range(1, steps + 1)) and
          [e.get("images") for e in entries] == list(range(BATCH, 17, BATCH)) and
          all(set(e) == keys for e in entries) and
          all(abs(e["total"] - e["content"] - e["style"]) <= 1e-6 * e["total"] for e in entries),
          r)
    names = safetensors_names(out) if os.path.exists(out) else []
    check("the model holds exactly TransformerNet's state_dict (62 tensors, no optimiser "
          "state)", len(names) == 62 and "conv1.conv2d.weight" in names and
          "res5.in2.bias" in names and not any("running" in n for n in names), r)
    check("`clstyle stylize` loads the trained model", loads(tmp, out))
    check("the progress names steps, images/s and time left",
          "step 1/%d" % steps in r.stderr and "images/s" in r.stderr and "left" in r.stderr, r)


def parity(tmp):
    """--init, lr 1e-4, 64x64, batch 2, 1 epoch: the golden's four steps within 1e-3."""
    out, log = os.path.join(tmp, "p.safetensors"), os.path.join(tmp, "p.jsonl")
    r = run("train", "-s", STYLE, "--dataset", PHOTOS, "-o", out, "--vgg", VGG16, "--init", INIT,
            "--image-size", "64", "--batch-size", "2", "--epochs", "1", "--lr", "1e-4",
            "--log", log, "-q")
    golden = harness.read_golden(os.path.join(GOLDEN, "train_steps_lr1e-4.gold"))
    entries = read_log(log) if r.returncode == 0 else []
    worst = 0.0
    for e in entries:
        for part in ("content", "style", "total"):
            want = golden["step%d.%s" % (e["step"], part)][1][0]
            worst = max(worst, abs(e[part] - want) / abs(want))
    print("  steps against PyTorch: worst relative difference %.2g" % worst)
    check("from --init at lr 1e-4, every step's losses within 1e-3 of PyTorch's loop",
          r.returncode == 0 and len(entries) == 4 and worst <= 1e-3 and r.stderr == "", r)


def checkpoints(tmp):
    out = os.path.join(tmp, "c.safetensors")
    r = train(tmp, out, "--checkpoint-every", "1", "-v")
    check("--checkpoint-every 1 replaces the model at every step",
          r.returncode == 0 and "step 1: wrote " + out in r.stderr and
          "step 2: wrote " + out in r.stderr, r)
    left = [n for n in os.listdir(tmp) if n.startswith("c.safetensors") and n != "c.safetensors"]
    check("no temporary file is left beside the model", left == [], r)
    init_out = os.path.join(tmp, "ci.safetensors")
    r = train(tmp, init_out, "--init", out, "--shuffle", "7", "--style-size", "24")
    check("--init from a trained model, --shuffle and --style-size run",
          r.returncode == 0 and loads(tmp, init_out), r)


def usage_errors(tmp):
    out = os.path.join(tmp, "u.safetensors")
    base = ["train", "-s", STYLE, "--dataset", PHOTOS, "-o", out, "--vgg", VGG16]
    cases = [
        ("no style", ["train", "--dataset", PHOTOS, "-o", out], "-s STYLE"),
        ("no dataset", ["train", "-s", STYLE, "-o", out], "--dataset DIR"),
        ("no output", ["train", "-s", STYLE, "--dataset", PHOTOS], "-o MODEL"),
        ("a .pth output", base[:6] + [os.path.join(tmp, "m.pth")], "safetensors"),
        ("-m", base + ["-m", VGG16], "--vgg"),
        ("--image-size 30", base + ["--image-size", "30"], "multiple of 4"),
        ("--epochs 0", base + ["--epochs", "0"], "--epochs"),
        ("--learning-rate 0", base + ["--learning-rate", "0"], "--learning-rate"),
        ("--style-weight nan", base + ["--style-weight", "nan"], "--style-weight"),
        ("--batch-size x", base + ["--batch-size", "x"], "--batch-size"),
        ("an operand", base + ["extra"], "unexpected argument"),
    ]
    for name, args, needle in harness.sample(cases, 4):
        r = run(*args)
        check("usage error: %s (exit 2, names it)" % name,
              r.returncode == 2 and needle in r.stderr and not os.path.exists(out), r)
    r = run("train", "--help")
    check("--help lists every option", r.returncode == 0 and all(
        flag in r.stdout for flag in ("--dataset", "--vgg", "--epochs", "--batch-size",
                                      "--image-size", "--style-size", "--content-weight",
                                      "--style-weight", "--tv-weight", "--learning-rate",
                                      "--shuffle", "--init", "--checkpoint-every", "--log",
                                      "--device", "--quiet", "--verbose")), r)


def bad_datasets(tmp):
    out = os.path.join(tmp, "b.safetensors")
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    r = train(tmp, out, photos=empty)
    check("an empty dataset directory: a clear error, exit 1, no model",
          r.returncode == 1 and "empty" in r.stderr and not os.path.exists(out), r)
    if harness.QUICK:  # the rest start the device and train under valgrind: minutes
        return
    broken = os.path.join(tmp, "broken")
    os.makedirs(broken)
    for i, data in enumerate((b"not a png", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, b"\xff\xd8\xff")):
        with open(os.path.join(broken, "b%d.%s" % (i, "jpg" if i == 2 else "png")), "wb") as f:
            f.write(data)
    r = train(tmp, out, photos=broken)
    check("a dataset of only broken images: a clear error, exit 1, no model",
          r.returncode == 1 and "failed to decode" in r.stderr and not os.path.exists(out), r)
    mixed = os.path.join(tmp, "mixed")
    shutil.copytree(PHOTOS, mixed)
    shutil.copy(os.path.join(broken, "b0.png"), os.path.join(mixed, "zz-broken.png"))
    r = train(tmp, out, photos=mixed, env=dict(os.environ))
    check("a broken photo among good ones: one warning naming it, counted, the run goes on",
          r.returncode == 0 and r.stderr.count("zz-broken.png") == 1 and
          "1 unreadable photo skipped" in r.stderr, r)


def bad_files(tmp):
    out = os.path.join(tmp, "f.safetensors")
    r = train(tmp, out, "--style-size", "4")
    check("a style image too small for VGG-16: a clear error, exit 1, no model",
          r.returncode == 1 and "too small" in r.stderr and not os.path.exists(out), r)
    r = train(tmp, out, style=os.path.join(PHOTOS, "..", "missing.png"))
    check("a missing style image: exit 1 naming it", r.returncode == 1 and
          "missing.png" in r.stderr and not os.path.exists(out), r)
    r = train(tmp, out, vgg=VGG19)
    check("VGG-19 weights for --vgg: exit 1, says VGG-16 is needed",
          r.returncode == 1 and "VGG-16" in r.stderr and not os.path.exists(out), r)
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    env = {k: v for k, v in os.environ.items()
           if k not in ("CLSTYLE_VGG16", "XDG_DATA_HOME", "TORCH_HOME")}
    env.update(HOME=home, XDG_CACHE_HOME=os.environ.get("XDG_CACHE_HOME", home + "/.cache"))
    r = run("train", "-s", STYLE, "--dataset", PHOTOS, "-o", out, env=env)
    check("no VGG-16 installed: exit 1 with where it looked and how to fetch it",
          r.returncode == 1 and "fetch-model.sh vgg16" in r.stderr and
          not os.path.exists(out), r)
    r = train(tmp, out, "--image-size", "4096", "--batch-size", "16")
    check("a step too large for the kernels: exit 1, says what to make smaller",
          r.returncode == 1 and "--batch-size or --image-size" in r.stderr and
          not os.path.exists(out), r)
    r = train(tmp, os.path.join(tmp, "no-such-dir", "m.safetensors"))
    check("an unwritable output: exit 1 before training", r.returncode == 1 and
          "no-such-dir" in r.stderr and "step" not in r.stderr, r)


def not_finite(tmp):
    out = os.path.join(tmp, "n.safetensors")
    r = train(tmp, out, "--learning-rate", "1e30", "--checkpoint-every", "1", "--epochs", "3")
    check("a loss that is not finite: stops, exit 1, keeps the last good checkpoint",
          r.returncode == 1 and "not finite" in r.stderr and
          "keeps the weights of step" in r.stderr and os.path.exists(out) and loads(tmp, out), r)


def disk_full(tmp):
    out = os.path.join(tmp, "d.safetensors")
    shutil.copy(INIT, out)
    with open(out, "rb") as f:
        before = f.read()

    def small_files():  # writes past 1 MB fail with EFBIG instead of killing the process
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    r = train(tmp, out, preexec_fn=small_files)
    with open(out, "rb") as f:
        after = f.read()
    check("the disk full while checkpointing: exit 1, the previous model file unchanged",
          r.returncode == 1 and "d.safetensors" in r.stderr and after == before and
          [n for n in os.listdir(tmp) if n.startswith("d.safetensors")] == ["d.safetensors"], r)


def interrupt(tmp):
    out, log = os.path.join(tmp, "i.safetensors"), os.path.join(tmp, "i.jsonl")
    proc = subprocess.Popen(harness.command(CLSTYLE, "train", "-s", STYLE, "--dataset", PHOTOS,
                                            "-o", out, "--vgg", VGG16, "--image-size", SIZE,
                                            "--batch-size", str(BATCH), "--epochs", "1000", "--log",
                                            log), stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if "step 1/" in line:
            break
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    code = proc.wait(timeout=600)
    steps = len(read_log(log)) if os.path.exists(log) else 0
    check("Ctrl-C finishes the step, writes the model and exits 130",
          code == 130 and "interrupted at step" in rest and os.path.exists(out) and
          0 < steps < 2000 and loads(tmp, out), stderr=rest)


with tempfile.TemporaryDirectory() as tmp:
    a_run(tmp)
    usage_errors(tmp)
    bad_datasets(tmp)
    if harness.QUICK:  # each step under valgrind takes a minute
        print("quick: the parity, checkpoint, bad-file, NaN, disk-full and Ctrl-C checks run "
              "in the full list only")
    else:
        parity(tmp)
        checkpoints(tmp)
        bad_files(tmp)
        not_finite(tmp)
        disk_full(tmp)
        interrupt(tmp)
harness.finish()
