#!/usr/bin/env python3
"""The transformer weight files of tests/data/bad/ffnet/MANIFEST, as make-weights built
them, are what their make-weights edits say, read through clstyle's weight reader
(dump-weights): a dropped tensor is absent, a reshaped one has its new shape, an added one
is present, and a NaN, a truncation or anything the reader itself refuses gives an error
containing the MANIFEST's substring. The model loader's own errors are tested elsewhere.
usage: test_ffnet_bad_weights.py DUMP_WEIGHTS MANIFEST BUILD_DIR GOOD_FILE"""
import subprocess
import sys


def index(dump, path):
    """(returncode, {name: shape}, stderr) of dump-weights reading every tensor."""
    run = subprocess.run([dump, path, "/dev/null"], capture_output=True, text=True)
    tensors = {}
    for line in run.stdout.splitlines()[1:]:
        name, _, shape, _ = line.split("\t")
        tensors[name] = [int(d) for d in shape.split(",") if d]
    return run.returncode, tensors, run.stderr


def main() -> int:
    dump, manifest, build_dir, good = sys.argv[1:5]
    rc, reference, err = index(dump, good)
    if rc != 0 or len(reference) != 62:
        print("FAIL: %s: rc %d, %d tensors: %s" % (good, rc, len(reference), err))
        return 1
    failures = cases = 0
    for line in open(manifest):
        if not line.strip() or line.startswith("#"):
            continue
        name, code, substring, args = line.rstrip("\n").split("\t")
        cases += 1
        args = args.split(" ")
        rc, tensors, err = index(dump, "%s/ffnet-bad-%s" % (build_dir, name))
        problems = []
        if code != "1":
            problems.append("expected exit code %s, only 1 is used" % code)
        edits, i = [], 0
        while i < len(args):
            if args[i] in ("--running-stats", "--extra-classifier"):
                i += 1
                continue
            if args[i] not in ("--format", "--dtype", "--seed"):
                edits.append((args[i], args[i + 1]))
            i += 2
        reader_refuses = any(flag in ("--nan", "--truncate") for flag, _ in edits)
        if reader_refuses and (rc == 0 or substring not in err):
            problems.append("the reader should refuse it with %r: rc %d, %r" % (substring, rc,
                                                                                 err))
        for flag, value in edits:
            if reader_refuses:
                break
            target, _, shape = value.partition("=")
            shape = [int(d) for d in shape.split(",") if d]
            if rc != 0:
                problems.append("the reader refused it: " + err.strip())
            elif flag == "--drop" and target in tensors:
                problems.append("%s is still there" % target)
            elif flag in ("--reshape", "--add") and tensors.get(target) != shape:
                problems.append("%s has shape %s, not %s" % (target, tensors.get(target), shape))
            elif flag == "--reshape" and reference[target] == shape:
                problems.append("%s already had shape %s" % (target, shape))
            elif flag == "--add" and target in reference:
                problems.append("%s is not an extra tensor" % target)
        if not reader_refuses and substring not in [v.partition("=")[0] for _, v in edits]:
            problems.append("the substring %r names no edited tensor" % substring)
        for p in problems:
            print("FAIL: %s: %s" % (name, p))
        failures += bool(problems)
        if not problems:
            print("ok   %s" % name)
    print("%d cases, %d failed" % (cases, failures))
    return 1 if failures or cases == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
