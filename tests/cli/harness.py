"""What the CLI tests share: running clstyle (behind $CLSTYLE_TEST_WRAPPER, e.g. valgrind,
when it is set), counting checks, failing any check whose stderr carries a sanitizer or
valgrind report, whatever the exit code says, and reading golden files."""
import os
import re
import shlex
import struct
import subprocess
import sys
import time

WRAPPER = shlex.split(os.environ.get("CLSTYLE_TEST_WRAPPER", ""))
# ASan and UBSan reports, and valgrind's error summary when it found something.
REPORT = re.compile(r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|"
                    r"==\d+== ERROR SUMMARY: [1-9]|==\d+== +definitely lost: [1-9]")
# What the OpenCL driver prints only because it runs under the wrapper: PoCL's hwloc
# refusing its CPUID probe under valgrind. Removed so checks of a quiet stderr still hold.
WRAPPER_NOISE = re.compile(r"hwloc x86 backend cannot work under Valgrind, disabling\.\n"
                           r"May be reenabled by dumping CPUIDs with hwloc-gather-cpuid\n"
                           r"and reloading them under Valgrind with HWLOC_CPUID_PATH\.\n")
# CLSTYLE_TEST_QUICK=1 (tests/valgrind/run.py --quick): a few cases of each kind instead of
# every file, offset and moment, so the suite finishes under valgrind in CI's time.
QUICK = os.environ.get("CLSTYLE_TEST_QUICK", "") not in ("", "0")
failures = 0
last_check = time.monotonic()


def sample(items, quick_step):
    """items, or every quick_step-th of them (the first and the last always) when QUICK."""
    items = list(items)
    if not QUICK or len(items) <= 2:
        return items
    return items[:-1:quick_step] + items[-1:]


def command(clstyle, *args):
    return [*WRAPPER, clstyle, *args]


def run(clstyle, *args, env=None, timeout=300):
    r = subprocess.run(command(clstyle, *args), capture_output=True, text=True,
                       timeout=timeout * (20 if WRAPPER else 1), env=env)
    if WRAPPER:
        r.stderr = WRAPPER_NOISE.sub("", r.stderr)
    return r


def memory_report(text):
    """The first line of a sanitizer or valgrind report in text, or None."""
    match = REPORT.search(text or "")
    return text[match.start():].splitlines()[0] if match else None


def check(name, cond, result=None, stderr=None):
    """Counts one check; result (a CompletedProcess) or stderr is searched for reports."""
    global failures
    text = stderr if stderr is not None else (result.stderr if result is not None else "")
    report = memory_report(text)
    ok = cond and report is None
    global last_check
    now = time.monotonic()  # the time since the last check shows where a slow run spends it
    print("%s%s (%.1f s)" % ("ok   " if ok else "FAIL ", name, now - last_check), flush=True)
    last_check = now
    if ok:
        return True
    failures += 1
    if report:
        print("  memory error report: " + report)
    if result is not None:
        print("  exit %s\n  stdout: %s\n  stderr: %s" % (result.returncode, result.stdout[-2000:],
                                                       result.stderr[-2000:]))
    return False


def read_golden(path):
    """The tensors of a CLSGOLD1 file (tests/reference/golden.h): name -> (dims, values)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data.startswith(b"CLSGOLD1\n")
    pos, tensors = 9, {}
    while pos < len(data):
        end = data.index(b"\n", pos)
        words = data[pos:end].decode().split()
        ndim = int(words[2])
        dims = [int(d) for d in words[3:3 + ndim]]
        count = 1
        for d in dims:
            count *= d
        pos = end + 1
        tensors[words[1]] = (dims, struct.unpack("<%df" % count, data[pos:pos + 4 * count]))
        pos += 4 * count
    return tensors


def finish():
    sys.exit(1 if failures else 0)
