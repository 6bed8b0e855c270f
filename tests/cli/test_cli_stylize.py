#!/usr/bin/env python3
"""`clstyle stylize` end to end on the OpenCL device with random TransformerNet weights in all
three formats: parity with PyTorch's TransformerNet (the goldens of
tests/reference/make_ffnet_golden.py) on the written 8-bit images, sizes that are not
multiples of 4, --size, collections (several inputs, a directory with a non-image inside,
numbered frames, --shard), installed models by name, `clstyle info`, bad models and images,
usage errors, and Ctrl-C between images.
Usage: test_cli_stylize.py CLSTYLE GOLDEN_DIR IMAGES_DIR VGG_WEIGHTS FFNET_PTH FFNET_LEGACY
                           FFNET_SAFETENSORS BAD_MANIFEST BAD_FILE..."""
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import zlib

import harness
from harness import check

CLSTYLE, GOLDEN, IMAGES, VGG = sys.argv[1:5]
MODELS = sys.argv[5:8]
BAD_MANIFEST, BAD_FILES = sys.argv[8], sys.argv[9:]


def run(*args, env=None, timeout=300):
    return harness.run(CLSTYLE, *args, env=env, timeout=timeout)


def read_png(path):
    """(width, height, [r, g, b, ...]) of an 8-bit RGB or RGBA, non-interlaced PNG."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    channels = 3 if color == 2 else 4
    raw, stride = zlib.decompress(idat), width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    pixels = []
    for row in rows:
        for x in range(width):
            pixels.extend(row[x * channels:x * channels + 3])
    return width, height, pixels


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    return struct.unpack(">II", head[16:24]) if head[:8] == b"\x89PNG\r\n\x1a\n" else None


def stats(pixels):
    clamped = sum(1 for p in pixels if p in (0, 255)) / len(pixels)
    return min(pixels), max(pixels), clamped


def parity(tmp):
    for case in ("64x48",) if harness.QUICK else ("64x48", "100x76"):
        dims, want = harness.read_golden(os.path.join(GOLDEN, "ffnet_%s.gold" % case))["output"]
        _, _, h, w = dims
        for model in (MODELS if not harness.QUICK else MODELS[:1]):
            out = os.path.join(tmp, "parity.png")
            r = run("stylize", "-m", model, "-c", os.path.join(IMAGES, "ffnet_%s.png" % case),
                    "-o", out)
            ok = r.returncode == 0 and png_size(out) == (w, h)
            mean = worst = float("nan")
            if ok:
                _, _, got = read_png(out)
                diffs = [abs(got[(y * w + x) * 3 + c] - min(255.0, max(0.0, want[(c * h + y) * w + x])))
                         for y in range(h) for x in range(w) for c in range(3)]
                mean, worst = sum(diffs) / len(diffs), max(diffs)
                lo, hi, clamped = stats(got)
                ok = mean <= 0.5 and lo < 64 and hi > 192 and clamped < 0.3
            check("%s %s matches PyTorch's TransformerNet: mean |diff| %.3f, max %.1f (<= 0.5)"
                  % (case, os.path.basename(model), mean, worst), ok, r)


def sizes(tmp):
    src = os.path.join(IMAGES, "ffnet_100x76.png")
    out = os.path.join(tmp, "odd.png")
    r = run("stylize", "-m", MODELS[2], "-c", src, "-o", out, "--size", "67")
    ok = r.returncode == 0 and png_size(out) == (67, 51)
    if ok:
        lo, hi, clamped = stats(read_png(out)[2])
        ok = lo < 64 and hi > 192 and clamped < 0.3
    check("--size 67 (not a multiple of 4) keeps the 67x51 size and spans the range", ok, r)
    r = run("stylize", "-m", MODELS[2], "-c", src, "-o", os.path.join(tmp, "tiny.png"), "--size", "8")
    check("--size 8 gives an 8x6 image: too small, exit 1, no output", r.returncode == 1
          and "too small" in r.stderr and not os.path.exists(os.path.join(tmp, "tiny.png")), r)
    jpg = os.path.join(tmp, "out.jpg")
    r = run("stylize", "-m", MODELS[0], "-c", src, "-o", jpg, "--original-colors", "-q")
    with open(jpg, "rb") as f:
        check("JPEG output with --original-colors, quiet", r.returncode == 0 and r.stderr == ""
              and f.read(3) == b"\xff\xd8\xff", r)


def collections(tmp):
    src = os.path.join(IMAGES, "ffnet_64x48.png")
    frames = os.path.join(tmp, "frames")
    os.mkdir(frames)
    for n in (3, 4, 5, 6, 10):
        shutil.copy(src, os.path.join(frames, "frame_%03d.png" % n))
    with open(os.path.join(frames, "notes.txt"), "w") as f:
        f.write("not an image")
    out = os.path.join(tmp, "styled")
    r = run("stylize", "-m", MODELS[0], "-c", frames, "-o", out)
    names = sorted(os.listdir(out)) if os.path.isdir(out) else []
    check("a directory: its images into OUTPUT/, names kept, the text file skipped with a warning",
          r.returncode == 0 and names == ["frame_%03d.png" % n for n in (3, 4, 5, 6, 10)]
          and "skipping" in r.stderr and "notes.txt" in r.stderr and "images/s" in r.stderr, r)
    out2 = os.path.join(tmp, "pattern")
    r = run("stylize", "-m", MODELS[0], "-c", os.path.join(frames, "frame_%03d.png"), "-o", out2,
            "--shard", "1/2")
    names = sorted(os.listdir(out2)) if os.path.isdir(out2) else []
    check("frames by pattern, --shard 1/2 takes every second from the second",
          r.returncode == 0 and names == ["frame_004.png", "frame_006.png"], r)
    percent = os.path.join(tmp, "percent")
    os.mkdir(percent)
    shutil.copy(src, os.path.join(percent, "100%_7.png"))
    r = run("stylize", "-m", MODELS[0], "-c", os.path.join(percent, "100%%_%d.png"), "-o",
            os.path.join(tmp, "percent-out"))
    check("a pattern with %% before the number", r.returncode == 0
          and os.listdir(os.path.join(tmp, "percent-out")) == ["100%_7.png"], r)
    out3 = os.path.join(tmp, "two")
    r = run("stylize", "-m", MODELS[0], "-c", src, "-c", os.path.join(IMAGES, "ffnet_100x76.png"),
            "-o", out3)
    sized = [png_size(os.path.join(out3, n)) for n in ("ffnet_64x48.png", "ffnet_100x76.png")]
    check("two inputs of two sizes: each keeps its own", r.returncode == 0
          and sized == [(64, 48), (100, 76)], r)
    with open(os.path.join(frames, "frame_007.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n broken")
    out4 = os.path.join(tmp, "partly")
    r = run("stylize", "-m", MODELS[0], "-c", frames, "-o", out4)
    names = sorted(os.listdir(out4)) if os.path.isdir(out4) else []
    check("a corrupt image in a directory: reported, the others written, exit 1",
          r.returncode == 1 and "frame_007.png" in r.stderr and len(names) == 5
          and "frame_007.png" not in names, r)
    r = run("stylize", "-m", MODELS[0], "-c", os.path.join(frames, "none_%d.png"), "-o", out4)
    check("a pattern that matches nothing: exit 1", r.returncode == 1 and "none_%d.png" in r.stderr, r)


def models(tmp):
    data = os.path.join(tmp, "data")
    os.makedirs(os.path.join(data, "clstyle"))
    shutil.copy(MODELS[1], os.path.join(data, "clstyle", "candy.pth"))
    env = dict(os.environ, XDG_DATA_HOME=data)
    out = os.path.join(tmp, "named.png")
    r = run("stylize", "-m", "candy", "-c", os.path.join(IMAGES, "ffnet_64x48.png"), "-o", out,
            env=env)
    check("-m candy finds the installed model", r.returncode == 0 and png_size(out) == (64, 48), r)
    r = run("stylize", "-m", "mosaic", "-c", os.path.join(IMAGES, "ffnet_64x48.png"), "-o", out,
            env=env)
    check("-m of a model not installed says how to install it", r.returncode == 1
          and "fetch-model.sh" in r.stderr, r)
    r = run("info", MODELS[1])
    check("info recognises a transformer model and lists its layers", r.returncode == 0
          and "transformer" in r.stdout and "res5.conv2.conv2d.weight" in r.stdout
          and "running_mean" in r.stdout, r)


def bad_input(tmp):
    img = os.path.join(IMAGES, "ffnet_64x48.png")
    out = os.path.join(tmp, "never.png")
    r = run("stylize", "-m", VGG, "-c", img, "-o", out)
    check("a VGG file as the model: exit 1, says what it is", r.returncode == 1
          and "VGG" in r.stderr and not os.path.exists(out), r)
    r = run("-c", img, "-s", img, "-m", MODELS[2], "-o", out, "--size", "16", "--iterations", "1")
    check("a transformer model as the VGG weights: exit 1, points to stylize", r.returncode == 1
          and "stylize" in r.stderr and not os.path.exists(out), r)
    with open(MODELS[2], "rb") as f:
        data = f.read()
    cut = os.path.join(tmp, "cut.safetensors")
    with open(cut, "wb") as f:
        f.write(data[:len(data) // 2])
    r = run("stylize", "-m", cut, "-c", img, "-o", out)
    check("a truncated model: exit 1, nothing written", r.returncode == 1
          and "clstyle: error:" in r.stderr and not os.path.exists(out), r)
    r = run("stylize", "-m", MODELS[0], "-c", os.path.join(tmp, "absent.png"), "-o", out)
    check("a missing input: exit 1 naming it, before the device starts", r.returncode == 1
          and "absent.png" in r.stderr and "device memory" not in r.stderr
          and not os.path.exists(out), r)
    r = run("stylize", "-m", MODELS[0], "-c", img, "-o", os.path.join(tmp, "no-dir", "x.png"))
    check("an unwritable output is refused before the device starts", r.returncode == 1
          and "no-dir" in r.stderr, r)
    r = run("stylize", "-m", MODELS[0], "-c", img, "-c", img, "-o", os.path.join(tmp, "no-dir", "sub"))
    check("an output directory that cannot be made: exit 1", r.returncode == 1
          and "no-dir" in r.stderr, r)
    for args, flag in ((["--shard", "2/2"], "--shard"), (["--shard", "x"], "--shard"),
                       (["--size", "0"], "--size"), (["--output-depth", "12"], "--output-depth"),
                       (["--bogus"], "--bogus"), (["-zq"], "-z")):
        r = run("stylize", "-m", MODELS[0], "-c", img, "-o", out, *args)
        check("usage error %s" % " ".join(args), r.returncode == 2 and flag in r.stderr
              and not os.path.exists(out), r)
    r = run("stylize", "-c", img, "-o", out)
    check("no -m is a usage error", r.returncode == 2 and "-m" in r.stderr, r)
    r = run("stylize", "--help")
    check("--help", r.returncode == 0 and "--shard K/N" in r.stdout, r)


def bad_models(tmp):
    """Every damaged model of tests/data/bad/ffnet/MANIFEST (built in MANIFEST order): exit 1,
    one error line naming the problem, nothing written."""
    with open(BAD_MANIFEST) as f:
        cases = [line.rstrip("\n").split("\t") for line in f
                 if line.strip() and not line.startswith("#")]
    check("the bad-model list and the built files agree", len(cases) == len(BAD_FILES))
    out = os.path.join(tmp, "bad-model.png")
    for (name, code, needle, _), path in harness.sample(list(zip(cases, BAD_FILES)), 4):
        r = run("stylize", "-m", path, "-c", os.path.join(IMAGES, "ffnet_64x48.png"), "-o", out)
        lines = [l for l in r.stderr.splitlines() if l.startswith("clstyle: error:")]
        check("bad model %s: exit %s, the error names %s, nothing written" % (name, code, needle),
              r.returncode == int(code) and len(lines) == 1 and needle in lines[0]
              and not os.path.exists(out), r)


def interrupt(tmp):
    frames = os.path.join(tmp, "many")
    os.mkdir(frames)
    for n in range(60):
        shutil.copy(os.path.join(IMAGES, "ffnet_100x76.png"), os.path.join(frames, "f_%02d.png" % n))
    out = os.path.join(tmp, "many-out")
    proc = subprocess.Popen(harness.command(CLSTYLE, "stylize", "-m", MODELS[0], "-c", frames,
                                            "-o", out), stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if "images/s" in line:  # the first image is done
            break
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    code = proc.wait(timeout=120)
    names = os.listdir(out)
    whole = all(png_size(os.path.join(out, n)) == (100, 76) for n in names)
    check("Ctrl-C finishes the current image and exits 130; every written image whole",
          code == 130 and 0 < len(names) < 60 and whole and "interrupted" in rest,
          stderr=rest)


with tempfile.TemporaryDirectory() as tmp:
    parity(tmp)
    sizes(tmp)
    collections(tmp)
    models(tmp)
    bad_input(tmp)
    bad_models(tmp)
    if harness.QUICK:  # 60 images under valgrind take minutes; Ctrl-C between them is cheap
        print("quick: the Ctrl-C check runs in the full list only")
    else:
        interrupt(tmp)
harness.finish()
