#!/usr/bin/env python3
"""Faults during a run of the main command: a plan that does not fit the device's memory
(refused before any work), a device allocation failing at each place the run allocates
(CLSTYLE_FAIL_ALLOCATION), a diverging loss, a full disk (a tiny tmpfs) when writing, and SIGINT, SIGTERM and
double signals arriving at every phase from start-up to the final write. Nothing may crash,
hang, leave a temporary or partial file, or truncate an existing output. Under
CLSTYLE_TEST_QUICK, fewer allocation sites and signal moments.
Usage: test_cli_faults.py CLSTYLE WEIGHTS EXAMPLES_DIR"""
import os
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
PREVIOUS = b"the previous result"
OOM_HINT = "reduce the memory needed"
# In the signal runs: about 0.2 s each on a 2-core CPU (quick, under valgrind: 10 s each).
ITERATIONS = 4 if harness.QUICK else 12


def args(out, size=24, iterations=2, *extra):
    return ["-c", CONTENT, "-s", STYLE, "-o", out, "-m", WEIGHTS, "--size", str(size),
            "--iterations", str(iterations), *extra]


def png_whole(path):
    """True when path is a PNG whose every chunk is complete with a good CRC, ending in IEND."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return False
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return False
    at = 8
    while at + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if len(body) != length or data[at + 8 + length:at + 12 + length] != \
                struct.pack(">I", zlib.crc32(kind + body)):
            return False
        if kind == b"IEND":
            return at + 12 + length == len(data)
        at += 12 + length
    return False


def previous(path):
    with open(path, "wb") as f:
        f.write(PREVIOUS)


def untouched(path):
    with open(path, "rb") as f:
        return f.read() == PREVIOUS


def temporaries(folder):
    return [n for n in os.listdir(folder) if n.endswith(".tmp")]


def is_pocl():
    r = harness.run(CLSTYLE, "devices")
    return "Portable Computing Language" in r.stdout or "pthread" in r.stdout


def memory_plan(tmp):
    if not is_pocl():
        print("skip the POCL_MEMORY_LIMIT check: the first device is not PoCL's")
        return
    out = os.path.join(tmp, "big.png")
    started = time.monotonic()
    r = harness.run(CLSTYLE, *args(out, 5000), env=dict(os.environ, POCL_MEMORY_LIMIT="1"))
    # The image and L-BFGS's four device vectors alone take more than 1 GiB at 5000x3750.
    check("a 5000-pixel run on a 1 GiB device is refused before it starts, with a hint",
          r.returncode == 1 and "even in tiles" in r.stderr and "L-BFGS history" in r.stderr
          and "the device has 1024 MiB" in r.stderr
          and OOM_HINT in r.stderr and not os.path.exists(out)
          and time.monotonic() - started < 60 * (10 if harness.WRAPPER else 1), r)


def allocation_failures(tmp):
    """Fails the 1st, 4th, 7th ... device allocation (quick: every 10th) until a run needs no
    more of them."""
    out = os.path.join(tmp, "alloc.png")
    previous(out)
    sites, bad = 0, []
    stride = 10 if harness.QUICK else 3
    for k in range(1, 1000, stride):
        r = harness.run(CLSTYLE, *args(out, 24, 2, "--lbfgs-history", "3", "-q"),
                        env=dict(os.environ, CLSTYLE_FAIL_ALLOCATION=str(k)))
        if r.returncode == 0:
            break
        sites += 1
        clean = (r.returncode == 1 and "CL_MEM_OBJECT_ALLOCATION_FAILURE" in r.stderr
                 and OOM_HINT in r.stderr and untouched(out) and not temporaries(tmp)
                 and harness.memory_report(r.stderr) is None)
        if not clean:
            bad.append((k, r.returncode, r.stderr.strip()[-300:]))
    check("a failed device allocation at each of %d places: exit 1, a hint, old output kept"
          % sites, sites * stride > 60 and not bad and r.returncode == 0)
    for k, code, stderr in bad[:5]:
        print("  allocation %d: exit %s: %s" % (k, code, stderr))


# Runs a command with a 48 KiB tmpfs, 4 KiB of it free, mounted at $0 in a private mount
# namespace (unshare -rm works for root and, where user namespaces are allowed, for anyone),
# then lists what the tmpfs holds, since it vanishes with the namespace.
FULL_DISK = r"""
mount -t tmpfs -o size=48k clstyle-test "$0" || exit 97
head -c 45056 /dev/zero > "$0/filler"
printf 'the previous result' > "$0/old.png"
"$@"
code=$?
echo "files: $(ls "$0" | tr '\n' ' ')"
echo "old: $(cat "$0/old.png" | head -c 40)"
exit $code
"""


def on_full_disk(folder, *clstyle_args):
    return subprocess.run(["unshare", "-rm", "sh", "-c", FULL_DISK, folder,
                           *harness.command(CLSTYLE, *clstyle_args)],
                          text=True, errors="replace", capture_output=True, timeout=600)


def divergence(tmp):
    out = os.path.join(tmp, "diverged.png")
    r = harness.run(CLSTYLE, *args(out, 32, 6, "--optimizer", "adam", "--learning-rate", "1e30"))
    check("a diverging loss stops the run: exit 1, names the iteration and what to change, "
          "writes the last finite image", r.returncode == 1 and "became inf at iteration 2"
          in r.stderr and "lower --learning-rate" in r.stderr and png_whole(out), r)


def full_disk(tmp):
    folder = os.path.join(tmp, "small-disk")
    os.mkdir(folder)
    old = os.path.join(folder, "old.png")
    r = on_full_disk(folder, *args(old, 64, 2, "-q"))
    if r.returncode == 97 or "unshare" in r.stderr:
        print("skip the full-disk checks: cannot mount a tmpfs here (%s)" % r.stderr.strip())
        return
    check("a full disk when writing the result: exit 1, says so, old output kept, no temporary",
          r.returncode == 1 and "No space left on device" in r.stderr
          and "old: the previous result" in r.stdout and "files: filler old.png \n" in r.stdout,
          r)
    r = on_full_disk(folder, *args(os.path.join(folder, "every.png"), 64, 4, "-q",
                                   "--optimizer", "adam", "--save-every", "1"))
    check("a full disk when saving an intermediate image stops the run with exit 1",
          r.returncode == 1 and "No space left on device" in r.stderr
          and "files: filler old.png \n" in r.stdout, r)


def timed_run(out, *extra):
    """A run's stderr lines with the seconds at which they came."""
    started = time.monotonic()
    proc = subprocess.Popen(harness.command(CLSTYLE, *args(out, 48, ITERATIONS, "--print-every",
                                                           "1", *extra)),
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines = [(time.monotonic() - started, line) for line in proc.stderr]
    return proc.wait(timeout=600), lines


def interrupted_at(tmp, delay, signals):
    out = os.path.join(tmp, "sig.png")
    previous(out)
    proc = subprocess.Popen(harness.command(CLSTYLE, *args(out, 48, ITERATIONS, "--print-every",
                                                           "1")),
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    time.sleep(delay)
    for sig in signals:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    stderr = proc.stderr.read()
    code = proc.wait(timeout=600)
    if code == -signals[0]:  # before the handler exists: the default action, nothing touched
        return untouched(out) and not temporaries(tmp), code, stderr
    kept = untouched(out) if "nothing written" in stderr else png_whole(out)
    if "without writing" in stderr:  # the second signal: the old file, or a whole new one
        kept = untouched(out) or png_whole(out)
    ok = code in (0, 130) and (code == 130) == ("interrupted" in stderr) and kept \
        and not temporaries(tmp) and harness.memory_report(stderr) is None
    return ok, code, stderr


def signals_at_every_phase(tmp):
    # The first run at this size compiles kernels and times the convolutions: its phases
    # would not be those of the runs that follow.
    timed_run(os.path.join(tmp, "timed.png"))
    code, lines = timed_run(os.path.join(tmp, "timed.png"))
    total = lines[-1][0] if lines else 0
    check("an uninterrupted run for timing", code == 0 and total > 0)
    phases = {"start-up": 0.0}
    for seconds, line in lines:
        if line.startswith("clstyle: L-BFGS"):
            phases["targets"] = seconds
        elif line.startswith("iteration 1/"):
            phases["first iteration"] = seconds
        elif line.startswith("clstyle: wrote"):
            phases["end"] = seconds
    print("  phases (s): " + ", ".join("%s %.2f" % kv for kv in phases.items()))
    moments = {phases.get("targets", 0) + 0.01, phases.get("first iteration", 0) - 0.05,
               phases.get("end", total) - 0.02}
    if harness.QUICK:  # start-up, the phases' edges and the middle
        delays = sorted({0.0, total / 2, *moments})
    else:
        delays = sorted({0.0, 0.01, 0.05, 0.15, *(total * i / 10 for i in range(1, 11)),
                         *moments})
    kinds = [("SIGINT", [signal.SIGINT]), ("SIGTERM", [signal.SIGTERM]),
             ("two SIGINTs", [signal.SIGINT, signal.SIGINT])]
    failures, handled = [], 0
    for i, delay in enumerate(d for d in delays if d >= 0):
        name, sigs = kinds[i % len(kinds)]
        ok, code, stderr = interrupted_at(tmp, delay, sigs)
        handled += ok and code == 130
        if not ok:
            failures.append("%s at %.2f s: exit %s: %s" % (name, delay, code, stderr[-300:]))
    # Some moment inside the run must reach clstyle's handler, not only the default action
    # before it exists or nothing after the write.
    check("signals at %d moments from start-up to the final write: exit 0 or 130, a whole PNG "
          "or the old file, no temporary; %d handled with exit 130" % (len(delays), handled),
          not failures and handled >= 1)
    for failure in failures:
        print("  " + failure)


with tempfile.TemporaryDirectory() as tmp:
    memory_plan(tmp)
    allocation_failures(tmp)
    divergence(tmp)
    full_disk(tmp)
    signals_at_every_phase(tmp)
harness.finish()
