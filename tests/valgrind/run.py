#!/usr/bin/env python3
"""Runs meson tests under valgrind memcheck: test programs directly, and the CLI tests with
every clstyle they start wrapped (CLSTYLE_TEST_WRAPPER). Definite leaks and memory errors
fail a test unless opencl-drivers.supp attributes them to the ICD loader or PoCL. Scripts
that run no C code of clstyle (the kernel embedder's and fetch-model's tests) are listed and
left out.
Usage: run.py BUILD_DIR [--suite S]... [--test NAME]... [--timeout-factor F] [--jobs N]
       [--quick] [--no-warm-up] [--log-dir DIR]"""
import argparse
import concurrent.futures
import json
import os
import shlex
import signal
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


def pocl_env_for_valgrind():
    """Valgrind hides AVX-512 from the program it runs, so PoCL under valgrind takes its AVX2
    kernel library and another device name: every kernel would compile again inside valgrind,
    with LLVM instrumented (minutes per program). Where the CPU has AVX-512, the warm-up and
    the valgrind runs both ask PoCL for its AVX2 library, so they share one kernel cache."""
    # Valgrind emulates each fused multiply-add by a call: several times slower than the
    # multiply and add the kernels compile to without FP_CONTRACT.
    no_fma = {"CLSTYLE_NO_FMA": "1"}
    if "POCL_KERNELLIB_NAME" in os.environ:
        return no_fma
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split() for line in f if line.startswith("flags")), [])
    except OSError:
        return no_fma
    avx2 = {"POCL_KERNELLIB_NAME": "avx2"} if "avx512f" in flags and "avx2" in flags else {}
    return dict(avx2, **no_fma)


def run_group(cmd, cwd, env, timeout):
    """Runs cmd in a process group of its own; returns (exit code or "timeout", output). On a
    timeout the whole group is killed: a CLI test's wrapped clstyle with it."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        code = "timeout"
    return code, out.decode(errors="replace")


def suites_of(test):
    """A meson test's suite names without the project prefix ("clstyle:cli" is "cli")."""
    return {s.split(":")[-1] for s in test["suite"]}


def uses_device(test):
    return bool(suites_of(test) & {"opencl", "cli"})


def warm_up(chosen, build, env, jobs):
    """Runs the device tests once without valgrind, jobs at a time, to fill the caches the
    valgrind runs then read: PoCL's compiled kernels and clstyle's kernel binaries and
    convolution timings. What is compiled, or measured, inside valgrind takes minutes; the code
    paths are the same. Both caches take concurrent writers, and a failure here only warns."""
    started = time.monotonic()

    def run_native(test):
        native = {k: v for k, v in {**env, **test.get("env", {})}.items()
                  if k != "CLSTYLE_TEST_WRAPPER"}
        return run_group(test["cmd"], test.get("workdir") or build, native, test["timeout"])[0]

    device_tests = [test for test, _ in chosen if uses_device(test)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for test, code in zip(device_tests, pool.map(run_native, device_tests)):
            if code != 0:
                print("warm-up: %s failed without valgrind (exit %s); its valgrind run will "
                      "tell" % (test["name"], code), flush=True)
    print("warm-up without valgrind: %.0f s" % (time.monotonic() - started), flush=True)


def run_one(test, cmd, build, env, timeout_factor, log_dir):
    """Runs one test under valgrind; returns (exit code or "timeout", seconds, output)."""
    started = time.monotonic()
    try:
        code, output = run_group(cmd, test.get("workdir") or build,
                                 {**env, **test.get("env", {})}, test["timeout"] * timeout_factor)
        if log_dir:
            with open(os.path.join(log_dir, test["name"] + ".log"), "w") as f:
                f.write(output)
    except OSError as e:
        code, output = "error", "cannot run %s: %s" % (test["name"], e)
    return code, time.monotonic() - started, output


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build")
    parser.add_argument("--suite", action="append", default=[])
    parser.add_argument("--test", action="append", default=[])
    parser.add_argument("--timeout-factor", type=float, default=30)
    parser.add_argument("--jobs", type=int, default=1,
                        help="tests at once (valgrind runs each program on one core)")
    parser.add_argument("--quick", action="store_true",
                        help="set CLSTYLE_TEST_QUICK=1: the device and CLI tests run a few "
                             "cases of each kind instead of every size and shape")
    parser.add_argument("--no-warm-up", action="store_true",
                        help="skip the run without valgrind that fills the kernel caches")
    parser.add_argument("--log-dir", help="write each test's whole output here")
    o = parser.parse_args()
    tests = json.loads(subprocess.run(["meson", "introspect", o.build, "--tests"],
                                      capture_output=True, text=True, check=True).stdout)
    env = dict(os.environ, CLSTYLE_TEST_WRAPPER=shlex.join(VALGRIND), **pocl_env_for_valgrind())
    if o.quick:
        env["CLSTYLE_TEST_QUICK"] = "1"
    if o.log_dir:
        os.makedirs(o.log_dir, exist_ok=True)
    chosen = []
    for test in tests:
        if (o.suite and not suites_of(test) & set(o.suite)) or \
                (o.test and test["name"] not in o.test):
            continue
        cmd = command_for(test)
        if cmd is None:
            print("--   %-16s runs no C code of clstyle; not run under valgrind" % test["name"])
            continue
        chosen.append((test, cmd))
    # The longest first, so that the last test does not run alone: the CLI tests (each starts
    # clstyle dozens of times), then by meson's timeout.
    chosen.sort(key=lambda tc: ("cli" not in suites_of(tc[0]), -tc[0]["timeout"]))
    if not o.no_warm_up:
        warm_up(chosen, o.build, env, o.jobs)
    failed = 0
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, o.jobs)) as pool:
        runs = {pool.submit(run_one, test, cmd, o.build, env, o.timeout_factor, o.log_dir): test
                for test, cmd in chosen}
        for done in concurrent.futures.as_completed(runs):
            code, seconds, output = done.result()
            ok = code == 0
            failed += not ok
            print("%s %-16s %6.0f s" % ("ok  " if ok else "FAIL", runs[done]["name"], seconds),
                  flush=True)
            if not ok:
                print("  exit %s\n%s" % (code, output[-6000:]), flush=True)
    print("valgrind: %d of %d failed in %.0f s" % (failed, len(chosen), time.monotonic() - started))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
