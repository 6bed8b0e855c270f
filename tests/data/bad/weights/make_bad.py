#!/usr/bin/env python3
"""Writes the hostile (and a few odd but valid) weight files next to this script, and
MANIFEST: one line per file, "name<TAB>expected status<TAB>expected message substring".
For CLS_OK files the third column is "tensors=N sum=S": the count of tensors and the exact
sum of all their values (the values are multiples of 1/8, so float sums are exact).

Only the Python standard library is used: pickles are assembled opcode by opcode, as torch
writes them (see tests/tools/check_weights_with_torch.py, which checks that torch loads the
ok_* files). Run it again after changing it and commit the output.
"""

import io
import json
import os
import struct
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
MAGIC = bytes.fromhex("80028a0a6cfc9c46f9206aa850192e")
FORMAT = "CLS_ERR_WEIGHTS_FORMAT"
UNSUPPORTED = "CLS_ERR_UNSUPPORTED"
manifest = []


def emit(name, data, status, message):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    manifest.append(f"{name}\t{status}\t{message}")


# --- pickle assembly -------------------------------------------------------------------


class Pickle:
    """Protocol-2 opcodes, appended in order; memo indices are handed out by put()."""

    def __init__(self, proto=2):
        self.b = bytearray(b"\x80" + bytes([proto]))
        self.memo = 0

    def raw(self, data):
        self.b += data
        return self

    def op(self, code):
        return self.raw(code.encode("latin-1") if isinstance(code, str) else code)

    def put(self):
        if self.memo < 256:
            self.raw(b"q" + bytes([self.memo]))
        else:
            self.raw(b"r" + struct.pack("<I", self.memo))
        self.memo += 1
        return self.memo - 1

    def get(self, i):
        return self.raw(b"h" + bytes([i]) if i < 256 else b"j" + struct.pack("<I", i))

    def int(self, v):
        if 0 <= v < 256:
            return self.raw(b"K" + bytes([v]))
        if 0 <= v < 65536:
            return self.raw(b"M" + struct.pack("<H", v))
        return self.raw(b"J" + struct.pack("<i", v))

    def str(self, s):
        data = s.encode()
        return self.raw(b"X" + struct.pack("<I", len(data)) + data)

    def global_(self, module, name):
        return self.raw(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def stop(self):
        return bytes(self.op(".").b)


def persistent_id(p, key, numel, dtype="FloatStorage", legacy=False, view=None):
    p.op("(").str("storage").global_("torch", dtype).str(key).str("cpu").int(numel)
    if legacy:
        if view is None:
            p.op("N")
        else:
            p.op("(").str(view[0]).int(view[1]).int(view[2]).op("t")
    p.op("t").op("Q")


def int_tuple(p, values):
    if not values:
        return p.op(")")
    if len(values) <= 3:
        for v in values:
            p.int(v)
        return p.op(bytes([0x84 + len(values)]))
    p.op("(")
    for v in values:
        p.int(v)
    return p.op("t")


def contiguous(shape):
    stride, s = [], 1
    for d in reversed(shape):
        stride.insert(0, s)
        s *= d
    return stride


def tensor(p, t, legacy=False):
    """t: dict(name, key, numel, shape[, stride, offset, dtype, view])."""
    p.global_("torch._utils", "_rebuild_tensor_v2")
    p.op("(")
    persistent_id(p, t["key"], t["numel"], t.get("dtype", "FloatStorage"), legacy,
                  t.get("view"))
    p.int(t.get("offset", 0))
    int_tuple(p, t["shape"])
    int_tuple(p, t.get("stride", contiguous(t["shape"])))
    p.op(b"\x89").global_("collections", "OrderedDict").op(")").op("R").op("t").op("R")


def state_dict(tensors, legacy=False):
    p = Pickle()
    p.global_("collections", "OrderedDict").op(")").op("R").op("(")
    for t in tensors:
        p.str(t["name"])
        tensor(p, t, legacy)
    return p.op("u").stop()


def floats(values, fmt="<f"):
    return b"".join(struct.pack(fmt, v) for v in values)


# Two small tensors; values are multiples of 1/8 so sums are exact.
WEIGHT = [(i - 5) / 8 for i in range(6)]
BIAS = [0.5, -0.25]
TENSORS = [dict(name="conv.weight", key="0", numel=6, shape=[2, 3]),
           dict(name="conv.bias", key="1", numel=2, shape=[2])]
DATA = {"0": floats(WEIGHT), "1": floats(BIAS)}
OK_SUM = f"tensors=2 sum={sum(WEIGHT) + sum(BIAS):g}"


# --- PyTorch zip ---------------------------------------------------------------------


def make_zip(pkl, data=None, extra=(), skip=(), byteorder=b"little", version=b"3\n",
             compression=zipfile.ZIP_STORED, prefix="archive"):
    data = DATA if data is None else data
    entries = [("data.pkl", pkl), ("byteorder", byteorder)]
    entries += [(f"data/{k}", v) for k, v in data.items()]
    entries += [("version", version)] + list(extra)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, content in entries:
            if name not in skip and content is not None:
                info = zipfile.ZipInfo(f"{prefix}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = compression
                z.writestr(info, content)
    return buf.getvalue()


def zip_cases():
    good = make_zip(state_dict(TENSORS))
    emit("ok_zip.pth", good, "CLS_OK", OK_SUM)
    for cut in (3, 4, 30, 100, len(good) // 2, len(good) - 22, len(good) - 1):
        emit(f"zip_truncated_{cut}.pth", good[:cut], FORMAT,
             "not a weight file" if cut < 4 else "not a valid zip archive")
    emit("zip_no_data_pkl.pth", make_zip(b"", skip=("data.pkl",)), FORMAT,
         "has no <archive>/data.pkl entry")
    emit("zip_torchscript.pth", make_zip(b"", skip=("data.pkl",),
                                         extra=[("constants.pkl", b"\x80\x02)."),
                                                ("code/m.py", b"")]), FORMAT, "TorchScript")
    emit("zip_no_version.pth", make_zip(state_dict(TENSORS), skip=("version",)), FORMAT,
         "has no archive/version entry")
    emit("zip_bad_entry_size.pth", make_zip(state_dict(TENSORS),
                                            data={"0": DATA["0"][:20], "1": DATA["1"]}),
         FORMAT, "zip entry archive/data/0 holds 20 bytes but 6 F32 elements need 24")
    emit("zip_missing_storage.pth", make_zip(state_dict(TENSORS), data={"0": DATA["0"]}),
         FORMAT, "storage 1: zip archive has no archive/data/1 entry")
    emit("zip_big_endian.pth", make_zip(state_dict(TENSORS), byteorder=b"big"), UNSUPPORTED,
         "big-endian checkpoints are not supported")
    emit("zip_bad_byteorder.pth", make_zip(state_dict(TENSORS), byteorder=b"middle"), FORMAT,
         "byteorder is neither")
    emit("zip_inconsistent_size.pth", patch_central_size(good, "archive/data/0", 28), FORMAT,
         "not a valid zip archive")
    emit("zip_bad_crc.pth", flip_stored_byte(good, "archive/data/0"), FORMAT, "CRC")
    deflated = make_zip(state_dict(TENSORS), compression=zipfile.ZIP_DEFLATED)
    emit("ok_zip_deflated.pth", deflated, "CLS_OK", OK_SUM)


def patch_central_size(data, name, size):
    """Sets the central directory's sizes of entry name, leaving its local header as is."""
    at = data.index(b"PK\x01\x02")
    while True:
        n = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + n] == name.encode():
            break
        at = data.index(b"PK\x01\x02", at + 4)
    out = bytearray(data)
    struct.pack_into("<II", out, at + 20, size, size)
    return bytes(out)


def flip_stored_byte(data, name):
    """Changes a byte of a stored entry's data, so only its CRC can tell."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    n = struct.unpack_from("<H", data, info.header_offset + 28)[0]  # local extra length
    start = info.header_offset + 30 + len(info.filename.encode()) + n
    out = bytearray(data)
    out[start + 1] ^= 0x01  # a low mantissa bit: still a finite float
    return bytes(out)


# --- pickles: hostile contents (in zip files) --------------------------------------------


def pickle_cases():
    def z(pkl):
        return make_zip(pkl)

    p = Pickle().global_("os", "system").str("echo pwned").op(b"\x85").op("R")
    emit("pkl_os_system.pth", z(p.stop()), FORMAT, "byte 2: global os.system is not allowed")
    p = Pickle().global_("builtins", "eval").str("1+1").op(b"\x85").op("R")
    emit("pkl_builtins_eval.pth", z(p.stop()), FORMAT, "global builtins.eval is not allowed")
    p = Pickle().global_("posix", "system").op("(").str("id").op("t").op("R")
    emit("pkl_posix_system_reduce.pth", z(p.stop()), FORMAT,
         "global posix.system is not allowed")
    p = Pickle(4).raw(b"\x8c\x05posix\x8c\x06system\x93").str("id").op(b"\x85").op("R")
    emit("pkl_posix_system_stack_global.pth", z(p.stop()), FORMAT,
         "byte 17: global posix.system is not allowed")
    p = Pickle().global_("numpy.core.multiarray", "_reconstruct")
    emit("pkl_numpy.pth", z(p.stop()), FORMAT,
         "global numpy.core.multiarray._reconstruct is not allowed")
    p = Pickle().op("(").raw(b"ios\nsystem\n")
    emit("pkl_opcode_inst.pth", z(p.stop()), FORMAT,
         "byte 3: pickle opcode INST (0x69) is not allowed")
    p = Pickle().op("(").op("}").op("o")
    emit("pkl_opcode_obj.pth", z(p.stop()), FORMAT, "byte 4: pickle opcode OBJ (0x6f)")
    p = Pickle().raw(b"\x82\x01")
    emit("pkl_opcode_ext1.pth", z(p.stop()), FORMAT, "byte 2: pickle opcode EXT1 (0x82)")
    p = Pickle().raw(b"\xff")
    emit("pkl_opcode_invalid.pth", z(p.stop()), FORMAT, "invalid pickle opcode 0xff")
    p = Pickle().raw(b"(" * 100)
    emit("pkl_deep_nesting.pth", z(p.stop()), FORMAT, "nested deeper than 64 MARKs")
    p = Pickle().raw(b")" * 70000)
    emit("pkl_stack_overflow.pth",
         make_zip(p.stop(), compression=zipfile.ZIP_DEFLATED), FORMAT,
         "pickle stack depth exceeds the limit of 65536")
    p = Pickle().op("}").raw(b"r\xff\xff\xff\xff")
    emit("pkl_huge_memo.pth", z(p.stop()), FORMAT,
         "memo index 4294967295 exceeds the limit of 4194304")
    p = Pickle().op("}").raw(b"h\x07")
    emit("pkl_memo_unset.pth", z(p.stop()), FORMAT, "memo index 7 was never set")
    p = Pickle().raw(b"X\xff\xff\xff\x7f")
    emit("pkl_huge_string.pth", z(p.stop()), FORMAT,
         "string of 2147483647 bytes exceeds the limit of 1048576")
    p = Pickle().raw(b"\x8a\x09" + b"\x01" * 9)
    emit("pkl_long1_too_big.pth", z(p.stop()), FORMAT, "does not fit in 64 bits")
    emit("pkl_truncated.pth", z(state_dict(TENSORS)[:77]), FORMAT, "pickle truncated")
    emit("pkl_no_stop.pth", z(state_dict(TENSORS)[:-1]), FORMAT,
         "pickle truncated: no STOP opcode")
    p = Pickle().op("]").op(")").op("a")
    emit("pkl_not_state_dict.pth", z(p.stop()), FORMAT,
         "the pickle holds a Python list, not a state_dict")
    p = Pickle().op("}").str("epoch").int(5).op("s")
    emit("pkl_value_not_tensor.pth", z(p.stop()), FORMAT,
         "entry epoch is a Python int, not a tensor")
    p = Pickle().global_("torch", "FloatStorage").op(")").op("R")
    emit("pkl_reduce_storage.pth", z(p.stop()), FORMAT,
         "REDUCE on torch.FloatStorage is not allowed")
    long_t = [dict(TENSORS[0], dtype="LongStorage")]
    emit("pkl_long_storage.pth", z(state_dict(long_t)), UNSUPPORTED,
         "tensors of torch.LongStorage are not supported")
    strided = [dict(TENSORS[0], shape=[3, 2], stride=[1, 3])]
    emit("pkl_non_contiguous.pth", z(state_dict(strided)), UNSUPPORTED,
         "tensor conv.weight: strides (1, 3) are not contiguous (expected (2, 1))")
    past = [dict(TENSORS[0], offset=2)]
    emit("pkl_storage_overrun.pth", z(state_dict(past)), FORMAT,
         "tensor conv.weight: elements [2, 8) run past the end of its storage 0 of 6")
    dup = [TENSORS[0], dict(TENSORS[1], name="conv.weight")]
    emit("pkl_duplicate_names.pth", z(state_dict(dup)), FORMAT,
         "two tensors are named conv.weight")
    mixed = [TENSORS[0], dict(TENSORS[1], key="0", numel=7)]
    emit("pkl_storage_conflict.pth", z(state_dict(mixed)), FORMAT,
         "storage 0 is described as")
    p = Pickle().op("]").op("}").op("b")
    emit("pkl_build_on_list.pth", z(p.stop()), FORMAT, "BUILD on a Python list")
    p = Pickle().op("}").op("}")
    emit("pkl_stop_two_values.pth", z(p.stop()), FORMAT, "STOP with 2 values")
    p = Pickle().op("(").str("storage").op("t").op("Q")
    emit("pkl_bad_persistent_id.pth", z(p.stop()), FORMAT,
         "persistent id is a Python tuple of 1 items")
    p = Pickle().op("}").str("x").op("s")
    emit("pkl_setitem_underflow.pth", z(p.stop()), FORMAT,
         "SETITEM with too few values on the stack")
    long_name = [dict(TENSORS[0], name="n" * 300)]
    emit("pkl_name_too_long.pth", z(state_dict(long_name)), FORMAT,
         "is longer than the limit of 255")
    nine = [dict(TENSORS[0], shape=[1] * 9 + [6])]
    emit("pkl_too_many_dims.pth", z(state_dict(nine)), UNSUPPORTED,
         "tensor of 10 dimensions (at most 8 are supported)")
    emit("ok_zip_proto4.pth", z(proto4_state_dict()), "CLS_OK", OK_SUM)
    emit("ok_zip_shared_storage.pth", make_zip(shared_storage(), data={"0": floats(
        WEIGHT + BIAS)}), "CLS_OK", OK_SUM)
    emit("ok_zip_parameter.pth", z(parameters()), "CLS_OK", OK_SUM)


def proto4_state_dict():
    """What torch.save(..., pickle_protocol=4) writes: FRAME, SHORT_BINUNICODE, MEMOIZE,
    STACK_GLOBAL, BINUNICODE8."""

    def s(text):
        data = text.encode()
        return b"\x8c" + bytes([len(data)]) + data + b"\x94"

    body = bytearray(s("collections") + s("OrderedDict") + b"\x93\x94)R\x94(")
    for t in TENSORS:
        name = t["name"].encode()
        body += b"\x8d" + struct.pack("<Q", len(name)) + name + b"\x94"
        body += s("torch._utils") + s("_rebuild_tensor_v2") + b"\x93\x94(("
        body += s("storage") + s("torch") + s("FloatStorage") + b"\x93\x94" + s(t["key"])
        body += s("cpu") + b"K" + bytes([t["numel"]]) + b"t\x94QK\x00"
        body += bytes(int_tuple(Pickle(), t["shape"]).b[2:]) + b"\x94"
        body += bytes(int_tuple(Pickle(), contiguous(t["shape"])).b[2:]) + b"\x94"
        body += b"\x89h\x02)R\x94t\x94R\x94"  # memo 2: the OrderedDict global
    body += b"u."
    return b"\x80\x04\x95" + struct.pack("<Q", len(body)) + bytes(body)


def shared_storage():
    """Both tensors view one storage; the bias at storage_offset 6."""
    p = Pickle()
    p.global_("collections", "OrderedDict").op(")").op("R").op("(")
    p.str("conv.weight")
    tensor(p, dict(name="", key="0", numel=8, shape=[2, 3]))
    p.str("conv.bias")
    tensor(p, dict(name="", key="0", numel=8, shape=[2], offset=6))
    return p.op("u").stop()


def parameters():
    """nn.Parameters (state_dict(keep_vars=True)) in a plain dict."""
    p = Pickle()
    p.op("}").op("(")
    for t in TENSORS:
        p.str(t["name"]).global_("torch._utils", "_rebuild_parameter")
        tensor(p, t)
        p.op(b"\x88").global_("collections", "OrderedDict").op(")").op("R").op(b"\x87").op("R")
    return p.op("u").stop()


# --- legacy .pth ---------------------------------------------------------------------


def sys_info(little=True):
    p = Pickle().op("}").op("(").str("protocol_version").int(1001)
    p.str("little_endian").op(b"\x88" if little else b"\x89")
    p.str("type_sizes").op("}").op("(").str("short").int(2).str("int").int(4).str("long")
    return p.int(4).op("u").op("u").stop()


def key_list(keys):
    p = Pickle().op("]").op("(")
    for k in keys:
        p.str(k)
    return p.op("e").stop()


def legacy(sd=None, keys=("0", "1"), counts=None, little=True, protocol=1001, data=None):
    """magic, protocol, sys_info, state_dict, keys, then count + bytes per listed key."""
    data = DATA if data is None else data
    parts = [MAGIC, Pickle().int(protocol).stop(), sys_info(little),
             sd if sd is not None else state_dict(TENSORS, legacy=True), key_list(keys)]
    for k in keys:
        raw = data.get(k, b"")
        count = (counts or {}).get(k, len(raw) // 4)
        parts.append(struct.pack("<q", count) + raw)
    return parts


def legacy_cases():
    parts = legacy()
    good = b"".join(parts)
    emit("ok_legacy.pth", good, "CLS_OK", OK_SUM)
    ends = [sum(len(p) for p in parts[: i + 1]) for i in range(len(parts))]
    cuts = {10: "not a weight file", ends[0] + 3: "protocol version pickle: byte 17: pickle "
            "truncated: BININT2 needs 2 bytes, 0 left", ends[1] + 20: "sys_info pickle", ends[2] + 40: "state_dict pickle",
            ends[3] + 10: "storage list pickle", ends[4] + 4: "its element count at byte",
            ends[4] + 12: "run past the end of the file", len(good) - 1:
            "run past the end of the file"}
    for cut, message in sorted(cuts.items()):
        emit(f"legacy_truncated_{cut}.pth", good[:cut], FORMAT, message)
    emit("legacy_bad_protocol.pth", b"".join(legacy(protocol=1000)), FORMAT,
         "legacy protocol version is 1000, expected 1001")
    emit("legacy_big_endian.pth", b"".join(legacy(little=False)), UNSUPPORTED,
         "little_endian=False")
    emit("legacy_count_mismatch.pth", b"".join(legacy(counts={"1": 3})), FORMAT,
         "storage 1: the file holds 3 elements, the pickle says 2")
    emit("legacy_key_unused.pth", b"".join(legacy(keys=("0", "1", "2"))), FORMAT,
         "storage 2 is listed but no tensor uses it")
    emit("legacy_key_missing.pth", b"".join(legacy(keys=("0",))), FORMAT,
         "storage 1 is used by a tensor but missing from the storage list")
    emit("legacy_key_twice.pth", b"".join(legacy(keys=("0", "0", "1"))), FORMAT,
         "storage 0 is listed twice")
    evil = Pickle().global_("builtins", "eval").str("1").op(b"\x85").op("R").stop()
    emit("legacy_eval.pth", b"".join(legacy(sd=evil)), FORMAT,
         "state_dict pickle: byte 123: global builtins.eval is not allowed")
    view = [dict(TENSORS[0], view=("v", 4, 6))]
    emit("legacy_view_out_of_range.pth", b"".join(legacy(sd=state_dict(view, legacy=True),
                                                          keys=("0",))), FORMAT,
         "view [4, +6) is outside its storage of 6 elements")
    emit("ok_legacy_v1_py2.pth", b"".join(legacy(sd=py2_state_dict(), keys=("0",),
                                                 data={"0": floats(WEIGHT + BIAS)})),
         "CLS_OK", OK_SUM)


def py2_state_dict():
    """As torch 0.1/0.2 under Python 2 wrote torchvision's VGG files: _rebuild_tensor (v1),
    OrderedDict([[key, value], ...]), SHORT_BINSTRING names and a storage view."""

    def bs(text):
        return b"U" + bytes([len(text)]) + text.encode()

    def v1(key_view, offset, shape):
        out = b"ctorch._utils\n_rebuild_tensor\n(" + b"(" + bs("storage")
        out += b"ctorch\nFloatStorage\n" + bs("0") + bs("cpu") + b"K\x08"
        out += (b"(" + bs(key_view[0]) + b"K" + bytes([key_view[1]]) + b"K" +
                bytes([key_view[2]]) + b"t") if key_view else b"N"
        out += b"tQK" + bytes([offset]) + bytes(int_tuple(Pickle(), shape).b[2:])
        out += bytes(int_tuple(Pickle(), contiguous(shape)).b[2:]) + b"tR"
        return out

    body = b"ccollections\nOrderedDict\n(]("
    body += b"](" + bs("conv.weight") + v1(None, 0, [2, 3]) + b"e"
    body += b"](" + bs("conv.bias") + v1(("9", 6, 2), 0, [2]) + b"e"
    body += b"etR."
    return b"\x80\x02" + body


# --- safetensors ---------------------------------------------------------------------


def safetensors(header, data=b"", pad=True, raw_header=None):
    text = raw_header if raw_header is not None else json.dumps(header).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


ST_HEADER = {"__metadata__": {"format": "pt"},
             "conv.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
             "conv.bias": {"dtype": "F32", "shape": [2], "data_offsets": [24, 32]}}
ST_DATA = DATA["0"] + DATA["1"]


def st_with(changes):
    header = json.loads(json.dumps(ST_HEADER))
    header.update(changes)
    return header


def safetensors_cases():
    good = safetensors(ST_HEADER, ST_DATA)
    emit("ok.safetensors", good, "CLS_OK", OK_SUM)
    header_end = 8 + struct.unpack("<Q", good[:8])[0]
    cuts = {0: "the file is empty", 5: "not a weight file", 8: "not a weight file",
            9: "runs past the end of the file", 40: "runs past the end of the file",
            header_end - 1: "runs past the end of the file",
            header_end: "run past the end of the data section",
            header_end + 20: "run past the end of the data section",
            len(good) - 1: "run past the end of the data section"}
    for cut, message in sorted(cuts.items()):
        emit(f"st_truncated_{cut}.safetensors", good[:cut], FORMAT, message)
    emit("st_bad_magic.safetensors", b"GIF89a" + bytes(40), FORMAT,
         "not a weight file this reader knows (it starts with 47 49 46 38")
    emit("st_header_past_end.safetensors", struct.pack("<Q", 1000) + b"{}" + bytes(90), FORMAT,
         "safetensors header length 1000 runs past the end of the file (8 + 1000 > 100 bytes)")
    emit("st_header_huge.safetensors", struct.pack("<Q", 1 << 62) + b"{}" + bytes(90), FORMAT,
         "exceeds the limit of 100000000 bytes")
    emit("st_overlap.safetensors", safetensors(st_with({"conv.bias": {
        "dtype": "F32", "shape": [2], "data_offsets": [16, 24]}}), ST_DATA), FORMAT,
        "tensors conv.weight [0, 24] and conv.bias [16, 24] overlap")
    emit("st_offsets_out_of_range.safetensors", safetensors(st_with({"conv.bias": {
        "dtype": "F32", "shape": [1000], "data_offsets": [24, 4024]}}), ST_DATA), FORMAT,
        "tensor conv.bias: data_offsets [24, 4024] run past the end of the data section "
        "(32 bytes)")
    emit("st_offsets_reversed.safetensors", safetensors(st_with({"conv.bias": {
        "dtype": "F32", "shape": [2], "data_offsets": [32, 24]}}), ST_DATA), FORMAT,
        "data_offsets [32, 24] end before they begin")
    emit("st_shape_mismatch.safetensors", safetensors({"features.0.weight": {
        "dtype": "F32", "shape": [64, 3, 3, 3], "data_offsets": [0, 1000]}}, bytes(1000)),
        FORMAT, "tensor features.0.weight: data_offsets [0, 1000] hold 1000 bytes but shape "
        "[64,3,3,3] of F32 needs 6912")
    emit("st_unsupported_dtype.safetensors", safetensors(st_with({"conv.bias": {
        "dtype": "I64", "shape": [1], "data_offsets": [24, 32]}}), ST_DATA), UNSUPPORTED,
        "tensor conv.bias: dtype I64 is not supported (only F32, F16 and BF16)")
    emit("st_unknown_dtype.safetensors", safetensors(st_with({"conv.bias": {
        "dtype": "F33", "shape": [2], "data_offsets": [24, 32]}}), ST_DATA), FORMAT,
        "tensor conv.bias: unknown dtype \"F33\"")
    nan = floats(WEIGHT[:5]) + b"\x00\x00\xc0\x7f" + DATA["1"]
    emit("st_nan.safetensors", safetensors(ST_HEADER, nan), FORMAT,
         "tensor conv.weight: element 5 [1,2] is NaN")
    inf = DATA["0"] + floats([0.5, float("-inf")])
    emit("st_inf.safetensors", safetensors(ST_HEADER, inf), FORMAT,
         "tensor conv.bias: element 1 [1] is -inf")
    half_inf = safetensors({"h": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}},
                           b"\x00\x3c\x00\x7c")
    emit("st_f16_inf.safetensors", half_inf, FORMAT, "tensor h: element 1 [1] is +inf")
    emit("st_bad_json.safetensors", safetensors(None, ST_DATA, raw_header=b'{"a": '),
         FORMAT, "header is not valid JSON")
    emit("st_trailing_data.safetensors", safetensors(None, ST_DATA, raw_header=b'{} xyz'),
         FORMAT, "header has data after its JSON object (at byte 11)")
    emit("st_header_nul.safetensors", safetensors(None, b"", raw_header=b'{"a\x00b": 1}'),
         FORMAT, "header is not valid JSON")
    emit("st_not_object.safetensors", safetensors(None, b"", raw_header=b'{"a": 5}'), FORMAT,
         "tensor a: entry is not a JSON object")
    emit("st_metadata_not_object.safetensors", safetensors(st_with({"__metadata__": 5}), ST_DATA),
         FORMAT, "__metadata__ is not a JSON object")
    emit("st_deep_json.safetensors", safetensors(None, b"", raw_header=b'{"__metadata__":' +
                                                 b"[" * 50 + b"]" * 50 + b"}"), FORMAT,
         "header is not valid JSON")
    emit("st_negative_dim.safetensors", safetensors({"a": {
        "dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}), FORMAT,
        "tensor a: shape dimension 0 is not a non-negative integer")
    emit("st_shape_overflow.safetensors", safetensors({"a": {
        "dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 0]}}), FORMAT,
        "tensor a: shape's element count overflows")
    emit("st_too_many_dims.safetensors", safetensors({"a": {
        "dtype": "F32", "shape": [1] * 9, "data_offsets": [0, 4]}}, bytes(4)), UNSUPPORTED,
        "tensor a: 9 dimensions (at most 8 are supported)")
    emit("st_name_too_long.safetensors", safetensors({"n" * 300: {
        "dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, bytes(4)), FORMAT,
        "tensor name of 300 bytes")
    emit("st_missing_offsets.safetensors", safetensors({"a": {
        "dtype": "F32", "shape": [1]}}, bytes(4)), FORMAT,
        "tensor a: \"data_offsets\" is not [begin, end] of non-negative integers")
    emit("st_float_offsets.safetensors", safetensors({"a": {
        "dtype": "F32", "shape": [1], "data_offsets": [0, 4.0]}}, bytes(4)), FORMAT,
        "\"data_offsets\" is not [begin, end]")
    emit("st_header_array.safetensors", safetensors(None, b"", raw_header=b'[1, 2]'), FORMAT,
         "not a weight file")
    emit("ok_empty_and_scalar.safetensors", safetensors({
        "e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [4, 4]},
        "s": {"dtype": "BF16", "shape": [], "data_offsets": [0, 2]},
        "z": {"dtype": "F16", "shape": [4], "data_offsets": [4, 12]}},
        b"\x20\x40" + bytes(2) + b"\x01\x00\x00\x80\x00\x04\xff\x7b"), "CLS_OK",
        f"tensors=3 sum={2.5 + 2 ** -24 - 0.0 + 2 ** -14 + 65504:.17g}")


def main():
    for name in os.listdir(HERE):
        if name != "make_bad.py" and not name.startswith("."):
            os.remove(os.path.join(HERE, name))
    safetensors_cases()
    zip_cases()
    pickle_cases()
    legacy_cases()
    with open(os.path.join(HERE, "MANIFEST"), "w") as f:
        f.write("# Generated by make_bad.py: file<TAB>expected status<TAB>expected message "
                "substring\n# (for CLS_OK: tensors=N sum=S of all values)\n")
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
