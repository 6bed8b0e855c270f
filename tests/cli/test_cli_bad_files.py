#!/usr/bin/env python3
"""Hostile files through the whole command: every bad image of data/bad/images (as the
content and as the style), every bad weight file of data/bad/weights, and VGG-19 weight
files in all three formats damaged the ways downloads and hostile uploads are (truncated at
many offsets, headers past the end or absurdly large, overlapping or out-of-range offsets,
wrong dtypes and shapes, NaN and Inf weights, zip entries with bad sizes). Each run must
exit 1 with one error line, create no output file, leave an existing one untouched, and
raise no sanitizer or valgrind report. Under CLSTYLE_TEST_QUICK, a sample of each kind.
Usage: test_cli_bad_files.py CLSTYLE BAD_DIR EXAMPLES_DIR SAFETENSORS PTH_ZIP PTH_LEGACY"""
import json
import os
import struct
import sys
import tempfile
import zipfile

import harness
from harness import check

CLSTYLE, BAD, EXAMPLES, SAFETENSORS, PTH_ZIP, PTH_LEGACY = sys.argv[1:7]
CONTENT = os.path.join(EXAMPLES, "content.png")
STYLE = os.path.join(EXAMPLES, "style.png")
PREVIOUS = b"the previous result"


def manifest(folder):
    """(file, status, message) rows of folder/MANIFEST."""
    with open(os.path.join(folder, "MANIFEST")) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if not line.startswith("#")]
    return [row for row in rows if len(row) == 3]


def transfer_fails(name, tmp, content=CONTENT, style=STYLE, model=SAFETENSORS, expect=""):
    """Runs a tiny transfer that must fail on a bad input, twice: once into a fresh path
    (nothing may be created) and once over an existing output (it must stay as it was)."""
    fresh = os.path.join(tmp, "fresh.png")
    kept = os.path.join(tmp, "kept.png")
    with open(kept, "wb") as f:
        f.write(PREVIOUS)
    args = ["-c", content, "-s", style, "-m", model, "--size", "24", "--iterations", "1"]
    r = harness.run(CLSTYLE, *args, "-o", fresh)
    lines = r.stderr.splitlines()
    one_line = len(lines) == 1 and lines[0].startswith("clstyle: error: ")
    check("%s: exit 1, one error line%s, no output" % (name, " naming '%s'" % expect if expect
                                                          else ""),
          r.returncode == 1 and one_line and expect in r.stderr and not os.path.exists(fresh)
          and not [n for n in os.listdir(tmp) if n.endswith(".tmp")], r)
    r = harness.run(CLSTYLE, *args, "-o", kept)
    with open(kept, "rb") as f:
        check("%s: an existing output is left untouched" % name,
              r.returncode == 1 and f.read() == PREVIOUS, r)


def bad_images(tmp):
    folder = os.path.join(BAD, "images")
    rows = [row for row in manifest(folder) if row[1] != "CLS_OK"]
    check("the bad image corpus is there", len(rows) >= 30)
    for file, _, message in harness.sample(rows, 4):
        path = os.path.join(folder, file)
        transfer_fails("content " + file, tmp, content=path, expect=message)
    for file, _, message in rows[::20 if harness.QUICK else 5]:  # the same reader as content
        transfer_fails("style " + file, tmp, style=os.path.join(folder, file), expect=message)


def bad_weight_files(tmp):
    folder = os.path.join(BAD, "weights")
    rows = manifest(folder)
    check("the bad weight corpus is there", len(rows) >= 60)
    for file, _, _ in harness.sample(rows, 5):  # none holds VGG weights, even the readable
        transfer_fails("weights " + file, tmp, model=os.path.join(folder, file))


def safetensors_parts():
    with open(SAFETENSORS, "rb") as f:
        data = f.read()
    length = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + length]), data[8 + length:]


def safetensors_file(header, body):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


def damaged_safetensors():
    """(name, bytes, expected message) for VGG-19 safetensors files damaged one way each."""
    header, body = safetensors_parts()
    whole = safetensors_file(header, body)
    header_end = 8 + struct.unpack("<Q", whole[:8])[0]
    cases = [("truncated at %d" % at, whole[:at], "")
             for at in (0, 3, 8, 9, 100, header_end - 1, header_end, header_end + 1000,
                        len(whole) // 2, len(whole) - 1)]
    cases.append(("header length past the end", struct.pack("<Q", len(whole) + 1) + whole[8:],
                  "runs past the end of the file"))
    cases.append(("header length absurd", struct.pack("<Q", (1 << 64) - 1) + whole[8:],
                  "exceeds the limit"))

    def edited(name, tensor, key, value, expect):
        h = json.loads(json.dumps(header))
        h[tensor][key] = value
        cases.append((name, safetensors_file(h, body), expect))
    w2 = header["features.2.weight"]["data_offsets"]
    edited("overlapping offsets", "features.2.weight", "data_offsets",
           [w2[0] - 4, w2[1] - 4], "overlap")
    edited("offsets out of range", "features.34.bias", "data_offsets",
           [len(body) - 4, len(body) + 4096], "past the end")
    edited("wrong dtype", "features.5.weight", "dtype", "I32", "I32")
    edited("unknown dtype", "features.5.weight", "dtype", "F31", "F31")
    edited("wrong shape", "features.2.weight", "shape", [64, 64, 9, 1], "features.2.weight")
    edited("shape too big for its bytes", "features.0.bias", "shape", [65], "features.0.bias")
    h = dict(header)
    del h["features.10.weight"]
    cases.append(("a convolution missing", safetensors_file(h, body), "features.10.weight"))

    def patched(name, tensor, element, value, expect):
        at = header[tensor]["data_offsets"][0] + 4 * element
        b = body[:at] + struct.pack("<f", value) + body[at + 4:]
        cases.append((name, safetensors_file(header, b), expect))
    patched("NaN weight", "features.10.weight", 7, float("nan"), "NaN")
    patched("Inf bias", "features.30.bias", 3, float("inf"), "inf")
    return cases


def damaged_zip_checkpoints():
    with open(PTH_ZIP, "rb") as f:
        whole = f.read()
    cases = [("truncated at %d" % at, whole[:at], "")
             for at in (0, 2, 4, 30, 200, 5000, len(whole) // 2, len(whole) - 22, len(whole) - 1)]
    with zipfile.ZipFile(PTH_ZIP) as z:
        entries = {info.filename.split("/", 1)[1]: info for info in z.infolist()}
    storage = entries["data/10"]
    name = storage.filename.encode()
    entry = whole.index(b"PK\x01\x02")  # its central directory record
    while whole[entry + 46:entry + 46 + len(name)] != name:
        entry = whole.index(b"PK\x01\x02", entry + 4)
    for field, label in ((20, "compressed size"), (24, "uncompressed size")):
        for value in (0xFFFFFFF0, storage.file_size - 4):
            damaged = whole[:entry + field] + struct.pack("<I", value) + whole[entry + field + 4:]
            cases.append(("zip entry %s %d" % (label, value), damaged, ""))
    local = storage.header_offset
    name_length, extra_length = struct.unpack("<HH", whole[local + 26:local + 30])
    data_at = local + 30 + name_length + extra_length
    nan = whole[:data_at + 8] + struct.pack("<f", float("nan")) + whole[data_at + 12:]
    cases.append(("a NaN written into a stored entry", nan, "CRC error"))
    pkl = entries["data.pkl"]
    at = pkl.header_offset + 30 + len(pkl.filename.encode()) + 40
    cases.append(("pickle bytes overwritten", whole[:at] + b"\xff" * 16 + whole[at + 16:], ""))
    return cases


def damaged_legacy_checkpoints():
    with open(PTH_LEGACY, "rb") as f:
        whole = f.read()
    cases = [("truncated at %d" % at, whole[:at], "")
             for at in (0, 1, 2, 10, 30, 100, 1000, 4000, len(whole) // 2, len(whole) - 1)]
    cases.append(("NaN in the last storage",
                  whole[:-4] + struct.pack("<f", float("nan")), "NaN"))
    cases.append(("wrong magic", whole[:3] + b"\x00" + whole[4:], ""))
    return cases


def value_errors_too(cases):
    """Every case, or (quick) a sample of them plus every one whose error comes from reading
    the values (NaN, Inf, a bad CRC): only these fail after the device has started and holds
    some of the weights; the others fail in the check made before it starts."""
    chosen = harness.sample(cases, 4)
    return chosen + [c for c in cases if c[2] in ("NaN", "inf", "CRC error") and c not in chosen]


def damaged_weights(tmp):
    for kind, suffix, cases in (("safetensors", ".safetensors", damaged_safetensors()),
                                (".pth zip", ".pth", damaged_zip_checkpoints()),
                                (".pth legacy", ".pth", damaged_legacy_checkpoints())):
        for name, data, expect in value_errors_too(cases):
            path = os.path.join(tmp, "damaged" + suffix)
            with open(path, "wb") as f:
                f.write(data)
            transfer_fails("VGG-19 %s %s" % (kind, name), tmp, model=path, expect=expect)
            os.remove(path)


with tempfile.TemporaryDirectory() as tmp:
    bad_images(tmp)
    bad_weight_files(tmp)
    damaged_weights(tmp)
harness.finish()
