#!/usr/bin/env python3
"""Runs meson tests under valgrind memcheck: test programs directly, and the CLI tests with
every clstyle they start wrapped (CLSTYLE_TEST_WRAPPER). Definite leaks and memory errors
fail a test unless opencl-drivers.supp attributes them to the ICD loader or PoCL. Scripts
that run no C code of clstyle (the kernel embedder's and fetch-model's tests) are listed and
left out.
Usage: run.py BUILD_DIR [--suite S]... [--test NAME]... [--timeout-factor F]"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VALGRIND = ["valgrind", "--quiet", "--num-callers=50", "--leak-check=full", "--show-leak-kinds=definite",
            "--errors-for-leak-kinds=definite", "--error-exitcode=99",
            "--suppressions=" + os.path.join(HERE, "opencl-drivers.supp")]


def is_elf(path):
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def command_for(test):
    """The command that runs test under valgrind, or None when it runs no clstyle C code."""
    cmd = test["cmd"]
    interpreter = os.path.basename(cmd[0]).startswith(("python", "bash", "sh"))
    if is_elf(cmd[0]) and not interpreter:
        return VALGRIND + cmd
    if any(os.path.basename(arg).startswith("test_cli_") for arg in cmd):
        return cmd  # the CLI tests wrap clstyle themselves
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build")
    parser.add_argument("--suite", action="append", default=[])
    parser.add_argument("--test", action="append", default=[])
    parser.add_argument("--timeout-factor", type=float, default=30)
    o = parser.parse_args()
    tests = json.loads(subprocess.run(["meson", "introspect", o.build, "--tests"],
                                      capture_output=True, text=True, check=True).stdout)
    env = dict(os.environ, CLSTYLE_TEST_WRAPPER=shlex.join(VALGRIND))
    failed = 0
    for test in tests:
        suites = {s.split(":")[-1] for s in test["suite"]}
        if (o.suite and not suites & set(o.suite)) or (o.test and test["name"] not in o.test):
            continue
        cmd = command_for(test)
        if cmd is None:
            print("--   %-16s runs no C code of clstyle; not run under valgrind" % test["name"])
            continue
        started = time.monotonic()
        try:
            r = subprocess.run(cmd, cwd=test.get("workdir") or o.build, env={**env,
                               **test.get("env", {})}, capture_output=True, text=True,
                               errors="replace", timeout=test["timeout"] * o.timeout_factor)
            code, output = r.returncode, r.stdout + r.stderr
        except subprocess.TimeoutExpired as e:
            code, output = "timeout", str(e.stdout or "") + str(e.stderr or "")
        ok = code == 0
        failed += not ok
        print("%s %-16s %6.0f s" % ("ok  " if ok else "FAIL", test["name"],
                                   time.monotonic() - started))
        if not ok:
            print("  exit %s\n%s" % (code, output[-6000:]))
    print("valgrind: %d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
