#!/usr/bin/env python3
"""What multiscale buys: a coarse-to-fine run against a single-scale run of the same wall
time, both through the clstyle command on the same images, weights and device.

  bench/multiscale.py [--clstyle PATH] [--model FILE] [--content FILE] [--style FILE]
                      [--size N] [--iterations N] [--stage-iterations N] [--min-scale N]
                      [--device SPEC] [--save DIR] [--extra "ARGS"]

1. Warm-up: one iteration of each run, so kernels are compiled and convolution algorithms
   chosen for every stage's shapes before anything is timed.
2. The multiscale run (--multiscale, --iterations at the top stage, --stage-iterations
   below): its wall time T from start to exit, its final loss.
3. The single-scale run (--no-multiscale, as many iterations as it gets): interrupted with
   SIGINT at T after its start, which makes clstyle write its current image and exit 130;
   its final loss is the last row of its --log.
Both losses are of the same objective (the content and style at --size). Prints the CPU, the
device, the stages, times, iterations and losses; --save DIR keeps both images and logs.
Without --model: random VGG-19 weights (make-weights --seed 1 from the newest build), whose
losses compare fine but whose pictures are not a real network's.
"""
import argparse
import glob
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def newest(pattern):
    found = sorted(glob.glob(os.path.join(ROOT, pattern)), key=os.path.getmtime)
    return found[-1] if found else None


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def last_row(log):
    rows = [json.loads(line) for line in open(log)] if os.path.exists(log) else []
    return rows[-1] if rows else None


def run(cmd, interrupt_after=None):
    """Runs cmd; returns (exit code, wall seconds, stderr). With interrupt_after, sends
    SIGINT that many seconds after the start if it is still running."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    if interrupt_after is not None:
        try:
            proc.wait(timeout=interrupt_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
    _, err = proc.communicate()
    return proc.returncode, time.monotonic() - start, err


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clstyle", default=newest("build*/src/clstyle"))
    ap.add_argument("--model")
    ap.add_argument("--content", default=os.path.join(ROOT, "examples", "content.png"))
    ap.add_argument("--style", default=os.path.join(ROOT, "examples", "style.png"))
    ap.add_argument("--size", type=int, default=724)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--stage-iterations", type=int, default=0)
    ap.add_argument("--min-scale", type=int, default=128)
    ap.add_argument("--device", default=None)
    ap.add_argument("--save", default=None)
    ap.add_argument("--extra", default="", help="more clstyle options for both runs")
    a = ap.parse_args()
    if not a.clstyle:
        sys.exit("no clstyle found: build first (meson setup build && meson compile -C build)")
    tmp = tempfile.mkdtemp(prefix="clstyle-multiscale-")
    out_dir = a.save or tmp
    os.makedirs(out_dir, exist_ok=True)
    model = a.model
    if not model:
        make = newest("build*/tests/make-weights")
        if not make:
            sys.exit("no --model and no build*/tests/make-weights to make random weights")
        model = os.path.join(tmp, "vgg19-seed1.pth")
        subprocess.run([make, "--arch", "vgg19", "--format", "pth", "--seed", "1", model],
                       check=True)
    common = [a.clstyle, "-c", a.content, "-s", a.style, "-m", model, "--size", str(a.size),
              "--print-every", "0"] + a.extra.split()
    if a.device:
        common += ["-d", a.device]
    multi = common + ["--multiscale", "--min-scale", str(a.min_scale)]
    if a.stage_iterations:
        multi += ["--stage-iterations", str(a.stage_iterations)]
    single = common + ["--no-multiscale"]

    print("warm-up: kernels and algorithm choices for every stage", flush=True)
    for cmd in (multi + ["--stage-iterations", "1"], single):
        code, _, err = run(cmd + ["--iterations", "1", "-o", os.path.join(tmp, "warm.png")])
        if code != 0:
            sys.exit("warm-up failed:\n" + err)

    multi_log = os.path.join(out_dir, "multiscale.jsonl")
    code, multi_s, err = run(multi + ["--iterations", str(a.iterations), "--log", multi_log,
                                      "-o", os.path.join(out_dir, "multiscale.png")])
    if code != 0:
        sys.exit("the multiscale run failed:\n" + err)
    stages = re.search(r"multiscale, (\d+) stages: (.*?) iterations", err)
    device = re.search(r"on (.*?): \d+x\d+", err)
    m_row = last_row(multi_log)
    m_iters = len(open(multi_log).readlines())

    single_log = os.path.join(out_dir, "single.jsonl")
    code, single_s, err = run(single + ["--iterations", "100000", "--log", single_log,
                                        "-o", os.path.join(out_dir, "single.png")],
                              interrupt_after=multi_s)
    if code not in (0, 130):
        sys.exit("the single-scale run failed:\n" + err)
    s_row = last_row(single_log)
    if not s_row:
        sys.exit("the single-scale run did not finish one iteration in %.1f s" % multi_s)

    print("CPU: %s; clstyle device: %s" % (cpu_model(), device.group(1) if device else "?"))
    print("size %d, content %s, style %s, model %s" % (a.size, a.content, a.style,
                                                        a.model or "random VGG-19 (seed 1)"))
    print("multiscale: %s stages (%s), %d iterations in all, %.1f s wall, final loss %.6e"
          % (stages.group(1) if stages else "1", stages.group(2) if stages else "-", m_iters,
             multi_s, m_row["loss"]))
    print("single-scale, interrupted at the same wall time: %d iterations, %.1f s wall, "
          "final loss %.6e" % (s_row["iter"], single_s, s_row["loss"]))
    print("single-scale loss / multiscale loss: %.2f" % (s_row["loss"] / m_row["loss"]))
    if a.save:
        print("images and logs in %s" % a.save)


if __name__ == "__main__":
    main()
