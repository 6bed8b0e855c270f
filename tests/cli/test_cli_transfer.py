#!/usr/bin/env python3
"""The main command end to end on the OpenCL device with generated random VGG-19 weights at
tiny sizes: flag validation (usage errors exit 2 naming the flag), outputs and their
formats, --log, --save-every, `clstyle info`, errors that leave no output, atomic output
under kill, and Ctrl-C writing the current image with exit 130 (under CLSTYLE_TEST_QUICK,
the signals are left to test_cli_faults, which sends them at every phase).
Usage: test_cli_transfer.py CLSTYLE WEIGHTS EXAMPLES_DIR"""
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import harness
from harness import check

CLSTYLE, WEIGHTS, EXAMPLES = sys.argv[1:4]
CONTENT = os.path.join(EXAMPLES, "content.png")
STYLE = os.path.join(EXAMPLES, "style.png")


def run(*args, env=None, timeout=300):
    return harness.run(CLSTYLE, *args, env=env, timeout=timeout)


def base(out, *extra):
    return ["-c", CONTENT, "-s", STYLE, "-o", out, "-m", WEIGHTS, "--size", "32",
            "--iterations", "4", *extra]


def png_info(path):
    with open(path, "rb") as f:
        head = f.read(33)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    width, height, depth = struct.unpack(">IIB", head[16:25])
    return width, height, depth


def usage_errors(tmp):
    out = os.path.join(tmp, "never.png")
    cases = [
        (["--size", "-5"], "--size"), (["--size", "abc"], "--size"),
        (["--style-weight", "nan"], "--style-weight"), (["--content-weight", "-1"], "--content-weight"),
        (["--tv-weight", "inf"], "--tv-weight"), (["--iterations", "0"], "--iterations"),
        (["--optimizer", "sgd"], "--optimizer"), (["--pooling", "min"], "--pooling"),
        (["--line-search", "armijo"], "--line-search"), (["--normalization", "x"], "--normalization"),
        (["--style-blend-weights", "1,2"], "--style-blend-weights"),
        (["--style-layers", "relu1_1,relu9_9"], "--style-layers"),
        (["--content-layers", "conv4_2,"], "--content-layers"),
        (["--style-layer-weights", "1,1"], "--style-layer-weights"),
        (["--output-depth", "12"], "--output-depth"), (["--jpeg-quality", "0"], "--jpeg-quality"),
        (["--learning-rate", "0"], "--learning-rate"), (["--lbfgs-history", "0"], "--lbfgs-history"),
        (["--seed", "-3"], "--seed"), (["--max-pixels", "0"], "--max-pixels"),
        (["--print-every", "x"], "--print-every"), (["--bogus"], "--bogus"),
        (["--init"], "--init"),
        (["--color-match", "x"], "--color-match"),
        (["--min-scale", "64"], "--min-scale"),  # above --size 32
        (["--min-scale", "8"], "--min-scale"), (["--min-scale", "1e9"], "--min-scale"),
        (["--stage-iterations", "0"], "--stage-iterations"),
        (["--no-multiscale", "--min-scale", "16"], "--min-scale"),
        (["--stage-iterations", "5", "--no-multiscale"], "--stage-iterations"),
        (["--max-memory", "0"], "--max-memory"), (["--max-memory", "1X"], "--max-memory"),
        (["--max-memory", "10K"], "--max-memory"), (["--max-memory", "-1G"], "--max-memory"),
        # the default strong-Wolfe search needs the loss's own gradient
        (["--normalize-gradients"], "--normalize-gradients"),
        (["--normalize-gradients", "--optimizer", "lbfgs", "--line-search", "strong-wolfe"],
         "--normalize-gradients"),
    ]
    for extra, flag in cases:
        r = run(*base(out), *extra)
        check("usage error %s names %s" % (" ".join(extra), flag),
              r.returncode == 2 and flag in r.stderr and "clstyle: error:" in r.stderr
              and not os.path.exists(out), r)
    r = run(*base(out), "--normalize-gradients")
    check("--normalize-gradients with the strong-Wolfe search says why",
          r.returncode == 2 and "line search" in r.stderr and "adam" in r.stderr, r)
    r = run("-s", STYLE, "-o", out)
    check("missing -c is a usage error", r.returncode == 2 and "--content" in r.stderr, r)
    r = run("-c", CONTENT, "-o", out)
    check("missing -s is a usage error", r.returncode == 2 and "--style" in r.stderr, r)
    r = run("--help")
    check("--help shows defaults", r.returncode == 0 and "(1e5)" in r.stdout and "(512)" in r.stdout
          and "conv4_2" in r.stdout, r)


def outputs(tmp):
    out = os.path.join(tmp, "out.png")
    log = os.path.join(tmp, "run.jsonl")
    # Adam: one evaluation per iteration, so all four iterations run (L-BFGS stops at its
    # evaluation budget, 1.25 x iterations, as torch.optim.LBFGS does).
    r = run(*base(out, "--optimizer", "adam", "--log", log, "--save-every", "2",
                  "--print-every", "1"))
    check("a run exits 0 and writes a PNG", r.returncode == 0 and png_info(out) is not None, r)
    info = png_info(out) or (0, 0, 0)
    check("the output has the content's aspect at --size 32", info[:2] == (32, 24), r)
    check("progress lines on a non-terminal stderr", "iteration 1/4" in r.stderr and
          "wrote" in r.stderr, r)
    for k in (2, 4):
        check("--save-every writes out_%d.png" % k, png_info(os.path.join(tmp, "out_%d.png" % k)))
    rows = [json.loads(line) for line in open(log)] if os.path.exists(log) else []
    keys = {"iter", "evals", "loss", "content", "style", "tv", "elapsed_s"}
    check("--log has one JSON object per iteration with every field",
          len(rows) == 4 and all(keys <= set(row) for row in rows)
          and [row["iter"] for row in rows] == [1, 2, 3, 4])
    r = run(*base(os.path.join(tmp, "deep.png"), "--output-depth", "16", "-q"))
    check("--output-depth 16 writes a 16-bit PNG", r.returncode == 0 and r.stderr == ""
          and (png_info(os.path.join(tmp, "deep.png")) or (0, 0, 0))[2] == 16, r)
    jpg = os.path.join(tmp, "out.jpg")
    r = run(*base(jpg, "--jpeg-quality", "80", "--optimizer", "adam", "--original-colors",
                  "--init", "random", "--seed", "5", "--pooling", "avg", "-q"))
    with open(jpg, "rb") as f:
        check("JPEG output with Adam, avg pooling, original colours, random init",
              r.returncode == 0 and f.read(2) == b"\xff\xd8", r)
    r = run(*base(os.path.join(tmp, "multi.png"), "-s", STYLE + "," + CONTENT,
                  "--style-blend-weights", "3,1", "--init", "style", "--line-search", "none",
                  "--normalization", "paper", "--style-layers", "relu1_1,relu2_1",
                  "--style-layer-weights", "2,1", "-q"))
    check("two style images with blend weights, init style, paper normalisation",
          r.returncode == 0 and png_info(os.path.join(tmp, "multi.png")), r)
    # Under CLSTYLE_TEST_QUICK (valgrind) one run of each feature: the others add minutes.
    for mode in ("mean-cov",) if harness.QUICK else ("mean-cov", "histogram", "none"):
        path = os.path.join(tmp, "match-%s.png" % mode)
        r = run(*base(path, "--color-match", mode, "--iterations", "2", "-q"))
        check("--color-match %s exits 0 and writes the image" % mode,
              r.returncode == 0 and png_info(path) is not None, r)
    for extra in ([["--optimizer", "adam"]] if harness.QUICK
                  else [["--optimizer", "adam"], ["--line-search", "none"]]):
        path = os.path.join(tmp, "normalized.png")
        r = run(*base(path, "--normalize-gradients", "--iterations", "2", "-q", *extra))
        check("--normalize-gradients with %s exits 0 and writes the image" % " ".join(extra),
              r.returncode == 0 and png_info(path) is not None, r)


def multiscale(tmp):
    out = os.path.join(tmp, "ms.png")
    log = os.path.join(tmp, "ms.jsonl")
    # 48x36 from 24 up: stages 24x18, 34x25 and 48x36; Adam runs every iteration asked for.
    r = run(*base(out, "--size", "48", "--min-scale", "24", "--optimizer", "adam",
                  "--iterations", "3", "--stage-iterations", "2", "--log", log,
                  "--save-every", "2", "--print-every", "1"))
    check("--min-scale turns multiscale on: the run exits 0 at the content's size",
          r.returncode == 0 and (png_info(out) or (0, 0))[:2] == (48, 36), r)
    check("the stages are announced smallest first",
          "multiscale, 3 stages: 24x18 (2) -> 34x25 (2) -> 48x36 (3)" in r.stderr, r)
    check("each stage is announced and its progress lines say so",
          "stage 2/3: 34x25, 2 iterations" in r.stderr and "stage 3/3  iteration 3/3" in r.stderr,
          r)
    rows = [json.loads(line) for line in open(log)] if os.path.exists(log) else []
    check("--log names each row's stage and size",
          [(row.get("stage"), row.get("width"), row["iter"]) for row in rows]
          == [(1, 24, 1), (1, 24, 2), (2, 34, 1), (2, 34, 2), (3, 48, 1), (3, 48, 2), (3, 48, 3)])
    check("--save-every names the stage: ms_s1_2.png at the first stage's size",
          (png_info(os.path.join(tmp, "ms_s1_2.png")) or (0, 0))[:2] == (24, 18)
          and png_info(os.path.join(tmp, "ms_s3_2.png")) is not None)
    if harness.QUICK:  # more runs of the same code: minutes under valgrind
        return
    r = run(*base(out, "--size", "48", "--no-multiscale", "--optimizer", "adam"))
    check("--no-multiscale runs one stage", r.returncode == 0 and "stage" not in r.stderr, r)
    # Shallow layers and no algorithm timing keep five stages up to 520 pixels to seconds.
    r = run(*base(out, "--size", "520", "--optimizer", "adam", "--iterations", "1",
                  "--reproducible", "--style-layers", "relu1_1", "--content-layers", "relu1_1"))
    check("multiscale is the default above --size 512",
          r.returncode == 0 and "multiscale, 5 stages: 130x98 (1) -> 184x138 (1)" in r.stderr
          and (png_info(out) or (0, 0))[:2] == (520, 390), r)


def tiling(tmp):
    if harness.QUICK:  # test_tiling runs tiled evaluations under valgrind, on smaller images
        print("quick: the tiled CLI runs are left out")
        return
    out = os.path.join(tmp, "tiled.png")
    # Shallow layers (halo 6): 128x96 needs 108 MiB whole, weights included; 100 MiB tiles it.
    shallow = ["--size", "128", "--optimizer", "adam", "--iterations", "2", "--style-layers",
               "relu1_1,relu2_1", "--content-layers", "relu2_1"]
    r = run(*base(out, *shallow, "--max-memory", "100M"))
    check("--max-memory below the run's needs tiles it and says so",
          r.returncode == 0 and "tiled exactly" in r.stderr and "untiled it would need" in r.stderr
          and (png_info(out) or (0, 0))[:2] == (128, 96), r)
    never = os.path.join(tmp, "never.png")
    # The image, Adam's state and the shallow layers' derived weights alone take over 1 MiB.
    r = run(*base(never, *shallow, "--max-memory", "77M"))
    check("--max-memory below even the smallest tiles is an error that says so",
          r.returncode == 1 and "even in tiles" in r.stderr and "--max-memory" in r.stderr
          and not os.path.exists(never), r)


def write_grey_png(path, width, height, value_at):
    """A greyscale 8-bit PNG whose pixel (x, y) is value_at(x, y)."""
    rows = b"".join(b"\x00" + bytes(value_at(x, y) for x in range(width)) for y in range(height))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                                  0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def masks(tmp):
    """--style-masks and --content-mask: a run with masks of another size than the content,
    and hostile masks (unreadable, black everywhere, the wrong count): a clear error naming
    the file or the flag, nothing written."""
    left, right = os.path.join(tmp, "left.png"), os.path.join(tmp, "right.png")
    black = os.path.join(tmp, "black.png")
    write_grey_png(left, 20, 10, lambda x, y: 255 if x < 10 else 0)
    write_grey_png(right, 20, 10, lambda x, y: 0 if x < 10 else 255)
    write_grey_png(black, 8, 8, lambda x, y: 0)
    out = os.path.join(tmp, "masked.png")
    r = run(*base(out, "-s", STYLE + "," + CONTENT, "--style-masks", left + "," + right,
                  "--content-mask", right, "-q"))
    check("two styles with --style-masks and a --content-mask write the image",
          r.returncode == 0 and png_info(out) is not None and r.stderr == "", r)
    bad = os.path.join(tmp, "bad-mask.png")
    for extra, code, words in (
            (["--style-masks", os.path.join(tmp, "missing.png")], 1, "missing.png"),
            (["--style-masks", black], 1, "black everywhere"),
            (["--content-mask", black], 1, "black everywhere"),
            (["--style-masks", left + "," + right], 2, "--style-masks has 2 masks for 1")):
        r = run(*base(bad, *extra))
        check("%s: exit %d, says '%s', writes nothing" % (" ".join(extra[:1]), code, words),
              r.returncode == code and words in r.stderr and not os.path.exists(bad), r)


def profile(tmp):
    """CLSTYLE_PROFILE=1: the table of kernels and CLBlast routines at exit, slowest first."""
    r = run(*base(os.path.join(tmp, "profiled.png"), "--iterations", "1", "-q"),
            env=dict(os.environ, CLSTYLE_PROFILE="1"))
    rows = re.findall(r"clstyle: warning: (\S.*?) +(\d+) +([0-9.]+) +([0-9.]+) +([0-9.]+)%",
                      r.stderr)
    names = [row[0] for row in rows]
    totals = [float(row[2]) for row in rows]
    check("CLSTYLE_PROFILE=1 logs every kernel and Gram product, slowest first (%d rows)"
          % len(rows), r.returncode == 0 and "profile on" in r.stderr
          and "relu_forward" in names
          and any(n.startswith("gram_") or "Gram" in n for n in names)  # cl/gram.cl or CLBlast
          and totals == sorted(totals, reverse=True), r)


def reproducible(tmp):
    """--reproducible: two runs, each with a fresh cache (kernels, convolution choices), write
    the same bytes, and neither times a convolution. (That a measured choice would change
    the image is shown in the opencl suite's transfer test.)"""
    # PoCL keeps its own compiled kernels under XDG_CACHE_HOME too: point it at the usual
    # place, so a fresh clstyle cache does not also mean a minute of LLVM.
    pocl_cache = os.environ.get("POCL_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pocl", "kcache")
    images = []
    for k in range(2):
        path = os.path.join(tmp, "repro-%d.png" % k)
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "repro-cache-%d" % k),
                   POCL_CACHE_DIR=pocl_cache)
        r = run(*base(path, "--reproducible", "-v"), env=env)
        check("--reproducible run %d with a fresh cache exits 0 and times nothing" % (k + 1),
              r.returncode == 0 and png_info(path) is not None and "reproducible" in r.stderr
              and not re.search(r"direct [0-9.]+ ms, winograd", r.stderr), r)
        images.append(open(path, "rb").read() if os.path.exists(path) else b"")
    check("the two --reproducible runs wrote the same bytes", images[0] == images[1] != b"")
    evals = {}
    for mode in ("budget", "25"):
        r = run(*base(os.path.join(tmp, "ls.png"), "--iterations", "1", "--max-ls", mode, "-q",
                      "--log",
                      os.path.join(tmp, "ls.jsonl")))
        rows = [json.loads(line) for line in open(os.path.join(tmp, "ls.jsonl"))] \
            if r.returncode == 0 else []
        evals[mode] = rows[-1]["evals"] if rows else -1
        check("--max-ls %s exits 0" % mode, r.returncode == 0 and rows, r)
    # 1 iteration: a budget of 1; torch's search may take one more than what is left.
    check("--max-ls budget ends at the budget, 25 goes past it (%s)" % evals,
          evals["budget"] == 2 < evals["25"])


def info_command(tmp):
    r = run("info", WEIGHTS)
    check("info names the format, the network and the tensors", r.returncode == 0
          and "vgg19" in r.stdout and "features.34.weight" in r.stdout and "[512, 512, 3, 3]" in r.stdout, r)
    bad = os.path.join(tmp, "bad.pth")
    with open(bad, "wb") as f:
        f.write(b"PK\x03\x04 not really a zip")
    r = run("info", bad)
    check("info on a corrupt file fails with one error line", r.returncode == 1
          and r.stderr.startswith("clstyle: error:"), r)


def errors_leave_no_output(tmp):
    out = os.path.join(tmp, "none.png")
    notimg = os.path.join(tmp, "notimg.png")
    with open(notimg, "w") as f:
        f.write("hello")
    r = run(*base(out)[:2], "-s", notimg, *base(out)[4:])
    check("a style that is not an image: exit 1, no output", r.returncode == 1
          and "clstyle: error:" in r.stderr and not os.path.exists(out), r)
    env = dict(os.environ, HOME=tmp, XDG_DATA_HOME=os.path.join(tmp, "data"),
               XDG_CACHE_HOME=os.path.join(tmp, "cache"))
    env.pop("CLSTYLE_MODEL", None)
    env.pop("TORCH_HOME", None)
    args = [a for a in base(out) if a not in ("-m", WEIGHTS)]
    r = run(*args, env=env)
    check("no weights: exit 1 and the error says how to get them", r.returncode == 1
          and "fetch-model.sh" in r.stderr and not os.path.exists(out), r)
    r = run(*base(os.path.join(tmp, "missing-dir", "out.png")))
    check("an unwritable output path is refused before the run", r.returncode == 1
          and "missing-dir" in r.stderr, r)
    old = os.path.join(tmp, "keep.png")
    with open(old, "wb") as f:
        f.write(b"precious")
    r = run(*base(old, "-m", os.path.join(tmp, "bad.pth")))
    with open(old, "rb") as f:
        check("a failed run leaves an existing output untouched", r.returncode == 1
              and f.read() == b"precious", r)


def start(out, iterations):
    args = base(out)
    args[args.index("--iterations") + 1] = str(iterations)
    return subprocess.Popen(harness.command(CLSTYLE, *args, "--print-every", "1"),
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)


def wait_for_iteration(proc):
    for line in proc.stderr:
        if line.startswith("iteration "):
            return True
    return False


def interrupts(tmp):
    out = os.path.join(tmp, "int.png")
    proc = start(out, 500)
    started = wait_for_iteration(proc)
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    code = proc.wait(timeout=120)
    check("Ctrl-C finishes the iteration, writes the image and exits 130",
          started and code == 130 and png_info(out) is not None and "interrupted" in rest,
          stderr=rest)
    proc = start(out + "2.png", 500)
    wait_for_iteration(proc)
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    check("SIGTERM does the same", proc.wait(timeout=120) == 130 and png_info(out + "2.png"),
          stderr=rest)

    twice = os.path.join(tmp, "twice.png")
    proc = start(twice, 500)
    wait_for_iteration(proc)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    code = proc.wait(timeout=120)
    whole = not os.path.exists(twice) or png_info(twice) is not None
    leftovers = [n for n in os.listdir(tmp) if n.endswith(".tmp")]
    check("a second Ctrl-C quits at once: exit 130, no partial file",
          code == 130 and whole and not leftovers, stderr=rest)
    if code != 130 or not whole or leftovers:
        print("  exit %s, whole %s, temporary files %s" % (code, whole, leftovers))

    old = os.path.join(tmp, "old.png")
    with open(old, "wb") as f:
        f.write(b"the previous result")
    proc = start(old, 500)
    wait_for_iteration(proc)
    proc.kill()
    proc.wait()
    leftovers = [n for n in os.listdir(tmp) if n.endswith(".tmp")]
    with open(old, "rb") as f:
        check("a killed run leaves the old output whole and no temporary file",
              f.read() == b"the previous result" and not leftovers)


with tempfile.TemporaryDirectory() as tmp:
    usage_errors(tmp)
    outputs(tmp)
    multiscale(tmp)
    tiling(tmp)
    masks(tmp)
    profile(tmp)
    if harness.QUICK:  # two cold kernel caches under valgrind would take many minutes
        print("quick: --reproducible runs left out")
    else:
        reproducible(tmp)
    info_command(tmp)
    errors_leave_no_output(tmp)
    if harness.QUICK:  # test_cli_faults sends SIGINT, SIGTERM and two SIGINTs, quick or not
        print("quick: the interrupt checks are left to test_cli_faults")
    else:
        interrupts(tmp)
harness.finish()
