#!/usr/bin/env python3
"""The clstyle command's device handling: listing, selection errors, exit codes, and the
kernel cache as seen in --verbose output."""
import os
import sys
import tempfile

import harness
from harness import check

CLSTYLE = sys.argv[1]


def run(*args, env=None):
    return harness.run(CLSTYLE, *args, env=env)


r = run("devices")
check("devices lists a device", r.returncode == 0 and "P:D" in r.stdout
      and "\n0 " in r.stdout, r)
check("--list-devices is the same", run("--list-devices").stdout == r.stdout)

r = run("--version")
check("--version", r.returncode == 0 and r.stdout.startswith("clstyle "), r)
r = run("--help")
check("--help names --device and the environment", r.returncode == 0 and "--device" in r.stdout
      and "CLSTYLE_DEVICE" in r.stdout, r)

for spec in ("99", "nosuchthing", "7:7"):
    r = run("check", "--device", spec)
    check("--device %s fails with the device list" % spec,
          r.returncode == 1 and "clstyle: error:" in r.stderr
          and "available devices" in r.stderr and "P:D" in r.stderr, r)

r = run("check", "--bogus")
check("unknown option is a usage error", r.returncode == 2 and "--bogus" in r.stderr, r)
r = run("check", "--device")
check("missing option value is a usage error", r.returncode == 2 and "--device" in r.stderr, r)
r = run("--help")
check("--help lists tune", "tune" in r.stdout and "CLSTYLE_NO_BLAS_TUNING" in r.stdout, r)
r = run("tune", "--help")
check("tune --help", r.returncode == 0 and "--time-budget" in r.stdout, r)
for bad in (["--time-budget", "0"], ["--time-budget", "x"], ["--sizes", "8"], ["--bogus"],
            ["extra"]):
    r = run("tune", *bad)
    check("tune %s is a usage error" % " ".join(bad), r.returncode == 2 and "error" in r.stderr, r)

r = run("frobnicate")
check("unknown command is a usage error", r.returncode == 2 and "frobnicate" in r.stderr, r)
r = run()
check("no command prints usage", r.returncode == 2 and "Usage" in r.stderr, r)

with tempfile.TemporaryDirectory() as cache:
    # An empty cache for clstyle; PoCL's own cache of compiled kernels stays where it was,
    # since compiling them cold costs minutes under valgrind and is not what is tested.
    pocl_cache = os.environ.get("POCL_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pocl", "kcache")
    env = dict(os.environ, XDG_CACHE_HOME=cache, POCL_CACHE_DIR=pocl_cache)
    env.pop("CLSTYLE_NO_KERNEL_CACHE", None)
    first = run("check", "-v", env=env)
    check("first check compiles", first.returncode == 0 and "compiled" in first.stderr
          and "self-check: passed" in first.stdout, first)
    second = run("check", "-v", env=env)
    check("second check is a kernel cache hit", second.returncode == 0
          and "kernel cache: hit" in second.stderr and "compiled self_check" not in second.stderr
          and "0 compiled" in second.stdout, second)
    env["CLSTYLE_DEVICE"] = "nosuchthing"
    r = run("check", env=env)
    check("CLSTYLE_DEVICE is used when --device is absent", r.returncode == 1
          and "nosuchthing" in r.stderr, r)
    r = run("check", "--device", "0", env=env)
    check("--device wins over CLSTYLE_DEVICE", r.returncode == 0, r)

harness.finish()
