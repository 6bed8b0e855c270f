#!/usr/bin/env python3
"""Checks clstyle's weight files against PyTorch, both ways (run by hand, not in CI).

1. Files written by make-weights load in torch.load (weights_only=True and False, and
   mmap=True for zip files) and in the safetensors package, with identical values in every
   format; f16/bf16 files hold exactly torch's .half()/.bfloat16() rounding of the f32
   values; the zip checkpoint's data.pkl is byte-identical to what torch.save writes for the
   same state_dict, and the legacy pickles have torch's opcodes.
2. Files written by torch.save (zip and legacy, pickle protocols 2 and 4, state_dicts with
   _metadata, Parameters, half/bfloat16, views with a storage offset, scalars, empty
   tensors) and by safetensors.torch.save_file read back in clstyle (dump-weights) with the
   values torch has; non-contiguous tensors are refused.
3. The good compatibility fixtures in tests/data/bad/weights (ok_*) load in torch too.

usage: check_weights_with_torch.py BUILD_DIR
"""

import collections
import io
import json
import os
import pickletools
import struct
import subprocess
import sys
import tempfile
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "data", "bad", "weights")
DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
ST_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def read_safetensors(path):
    """safetensors parsed by hand: the format is simple enough to need no package."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    out = collections.OrderedDict()
    for name, info in header.items():
        b, e = info["data_offsets"]
        raw = bytearray(data[8 + n + b : 8 + n + e])
        t = torch.frombuffer(raw, dtype=ST_DTYPES[info["dtype"]]) if raw else torch.empty(
            0, dtype=ST_DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"])
    return out


def dump(tools, path):
    """clstyle's view of a file: [(name, dtype, shape)], float32 values, or the error."""
    with tempfile.NamedTemporaryFile() as raw:
        r = subprocess.run([os.path.join(tools, "dump-weights"), path, raw.name],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return None, r.stderr.strip()
        values = torch.frombuffer(bytearray(open(raw.name, "rb").read()) or bytearray(4),
                                  dtype=torch.float32)
    index, offset = [], 0
    for line in r.stdout.splitlines()[1:]:
        name, dtype, shape, count = line.split("\t")
        shape = [int(s) for s in shape.split(",")] if shape else []
        index.append((name, dtype, shape, values[offset : offset + int(count)].reshape(shape)))
        offset += int(count)
    return index, None


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(
        a.view(torch.int16 if a.element_size() == 2 else torch.int32),
        b.view(torch.int16 if b.element_size() == 2 else torch.int32))


def check_made_files(tools, tmp):
    ref = None
    for dtype in ("f32", "f16", "bf16"):
        loaded = {}
        for fmt in ("safetensors", "pth", "pth-legacy"):
            path = os.path.join(tmp, f"vgg19-{dtype}.{fmt}")
            subprocess.run([os.path.join(tools, "make-weights"), "--arch", "vgg19", "--format",
                            fmt, "--dtype", dtype, "--extra-classifier", path], check=True)
            if fmt == "safetensors":
                loaded[fmt] = read_safetensors(path)
                from safetensors.torch import load_file
                pkg = load_file(path)
                check(all(same(pkg[k], v) for k, v in loaded[fmt].items()) and
                      len(pkg) == len(loaded[fmt]), f"safetensors package reads {dtype} file")
            else:
                loaded[fmt] = torch.load(path, weights_only=True)
                full = torch.load(path, weights_only=False)
                check(all(same(full[k], v) for k, v in loaded[fmt].items()),
                      f"torch.load weights_only=False agrees on {fmt} {dtype}")
                if fmt == "pth":
                    mm = torch.load(path, weights_only=True, mmap=True)
                    check(all(same(mm[k], v) for k, v in loaded[fmt].items()),
                          f"torch.load mmap=True reads {fmt} {dtype}")
                    check_pickle_bytes(path, loaded[fmt], dtype)
                else:
                    check_legacy_pickles(path, loaded[fmt], dtype)
                check(hasattr(loaded[fmt], "_metadata"), f"{fmt} {dtype} has _metadata")
            index, err = dump(tools, path)
            check(err is None and [n for n, *_ in index] == list(loaded[fmt].keys()) and all(
                torch.equal(v, loaded[fmt][n].float()) for n, _, _, v in index),
                f"clstyle reads the {fmt} {dtype} file as torch does")
        names = list(loaded["safetensors"].keys())
        for fmt in ("pth", "pth-legacy"):
            check(list(loaded[fmt].keys()) == names and all(
                same(loaded[fmt][k], loaded["safetensors"][k]) for k in names),
                f"{fmt} and safetensors hold identical {dtype} tensors")
        check(all(v.dtype == DTYPES[dtype] for v in loaded["pth"].values()), f"dtype {dtype}")
        if dtype == "f32":
            ref = loaded["pth"]
            shapes = {k: list(v.shape) for k, v in ref.items()}
            check(shapes["features.0.weight"] == [64, 3, 3, 3] and
                  shapes["features.34.weight"] == [512, 512, 3, 3] and
                  shapes["classifier.0.weight"] == [16, 25088] and len(ref) == 33,
                  "vgg19 names and shapes")
            std = ref["features.0.weight"].std().item()
            check(abs(std - (2 / 27) ** 0.5) < 0.02, f"He init std {std:.4f}")
        else:
            check(all(same(loaded["pth"][k], ref[k].to(DTYPES[dtype])) for k in names),
                  f"{dtype} values are torch's rounding of the f32 values")


def check_pickle_bytes(path, sd, dtype):
    """torch.save of the state_dict torch loaded writes the very same data.pkl."""
    with zipfile.ZipFile(path) as z:
        ours = [z.read(n) for n in z.namelist() if n.endswith("/data.pkl")][0]
        check(all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist()),
              "zip entries are stored")
    buf = io.BytesIO()
    torch.save(sd, buf)
    with zipfile.ZipFile(buf) as z:
        theirs = z.read("archive/data.pkl")
    check(ours == theirs, f"data.pkl ({dtype}) is byte-identical to torch.save's")


def opcodes(data):
    """(opcode, argument) of each pickle in a legacy file, storage keys blanked out."""
    f, out = io.BytesIO(data), []
    for _ in range(5):
        for op, arg, _ in pickletools.genops(f):
            out.append((op.name, "KEY" if isinstance(arg, str) and arg.isdigit() else arg))
    return out, f.tell()


def check_legacy_pickles(path, sd, dtype):
    buf = io.BytesIO()
    torch.save(sd, buf, _use_new_zipfile_serialization=False)
    ours, ours_end = opcodes(open(path, "rb").read())
    theirs, theirs_end = opcodes(buf.getvalue())
    check(ours == theirs, f"legacy pickles ({dtype}) have torch's opcodes and memo")
    check(len(open(path, "rb").read()) - ours_end == len(buf.getvalue()) - theirs_end,
          f"legacy storage section ({dtype}) has torch's size")


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(),
                                            torch.nn.Conv2d(4, 5, 3))


def torch_written(tmp):
    """(file, expected tensors) pairs of files torch writes."""
    torch.manual_seed(0)
    sd = Tiny().state_dict()
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 7
    mixed = collections.OrderedDict([
        ("half", torch.randn(3, 5).half()), ("bf16", torch.randn(7).bfloat16()),
        ("scalar", torch.tensor(2.5)), ("empty", torch.empty(0, 3)),
        ("row2", base[2]), ("rows13", base[1:3]), ("base", base),
        ("unit_dims", torch.randn(1, 4, 1, 1)),
    ])
    params = Tiny().state_dict(keep_vars=True)
    files = []
    for label, obj in (("module", sd), ("mixed", mixed), ("params", params)):
        for proto in (2, 4):
            for legacy in (False, True):
                path = os.path.join(tmp, f"torch-{label}-p{proto}-{'legacy' if legacy else 'zip'}.pth")
                torch.save(obj, path, pickle_protocol=proto,
                           _use_new_zipfile_serialization=not legacy)
                files.append((path, {k: v.detach() for k, v in obj.items()}))
    from safetensors.torch import save_file
    st = os.path.join(tmp, "torch-written.safetensors")
    save_file({k: v.contiguous() for k, v in mixed.items() if k not in ("row2", "rows13")}, st)
    files.append((st, {k: v for k, v in mixed.items() if k not in ("row2", "rows13")}))
    return files


def check_torch_files(tools, tmp):
    for path, expected in torch_written(tmp):
        index, err = dump(tools, path)
        got = {n: (d, s, v) for n, d, s, v in index or []}
        ok = err is None and set(got) == set(expected) and all(
            got[k][1] == list(t.shape) and torch.equal(got[k][2], t.float())
            for k, t in expected.items())
        check(ok, f"clstyle reads {os.path.basename(path)}" + (f": {err}" if err else ""))
    for legacy in (False, True):
        path = os.path.join(tmp, f"noncontig-{legacy}.pth")
        torch.save({"t": torch.randn(3, 4).t()}, path, _use_new_zipfile_serialization=not legacy)
        _, err = dump(tools, path)
        check(err is not None and "not contiguous" in err, f"non-contiguous refused: {err}")


def check_fixtures():
    """The ok_* fixtures load in torch with the tensor count and value sum MANIFEST gives."""
    manifest = open(os.path.join(FIXTURES, "MANIFEST")).read().splitlines()
    for line in manifest:
        if not line or line.startswith("#"):
            continue
        name, status, expect = line.split("\t")[:3]
        if status != "CLS_OK":
            continue
        path = os.path.join(FIXTURES, name)
        try:
            if name.endswith(".safetensors"):
                sd = read_safetensors(path)
            else:
                # torch's weights_only unpickler does not take protocol 4 (FRAME); these
                # fixtures are our own, so the full unpickler is safe here.
                sd = torch.load(path, weights_only="proto4" not in name)
            total = sum(float(v.double().sum()) for v in sd.values())
            want = dict(kv.split("=") for kv in expect.split())
            check(len(sd) == int(want["tensors"]) and total == float(want["sum"]),
                  f"torch loads fixture {name}: {len(sd)} tensors, sum {total!r}")
        except Exception as e:  # noqa: BLE001 - report any failure
            check(False, f"torch loads fixture {name}: {e}")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    tools = os.path.join(sys.argv[1], "tests")
    with tempfile.TemporaryDirectory() as tmp:
        check_made_files(tools, tmp)
        check_torch_files(tools, tmp)
    check_fixtures()
    print(f"{len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
