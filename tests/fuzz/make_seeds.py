#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora into tests/fuzz/corpus/<target>/ (run by hand; the
files are committed): copies of the small test files of tests/data (valid, corrupt and
hostile images and weight files) plus PNG variants libpng's transforms treat differently
and argument lists for the option parsers. Needs only the standard library."""
import shutil
import struct
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
CORPUS = HERE / "corpus"
MAX_SEED = 8192  # bytes: seeds stay small so the fuzzer mutates them quickly


def copy(target, paths):
    out = CORPUS / target
    out.mkdir(parents=True, exist_ok=True)
    for p in sorted(paths):
        if p.stat().st_size <= MAX_SEED:
            shutil.copyfile(p, out / p.name)


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def exif(orientation, big_endian=True):
    if big_endian:
        return b"MM\0*" + struct.pack(">IHHHIHH", 8, 1, 0x0112, 3, 1, orientation, 0) + b"\0" * 4
    return b"II*\0" + struct.pack("<IHHHIHH", 8, 1, 0x0112, 3, 1, orientation, 0) + b"\0" * 4


def png(width, height, color, depth, interlace=0, extra=b"", late=b"", seed=7):
    """A valid PNG whose rows are pseudo-random bytes of the right length (filter 0)."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    rowbytes = lambda w: (w * channels * depth + 7) // 8
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
              (1, 0, 2, 2), (0, 1, 1, 2)] if interlace else [(0, 0, 1, 1)]
    raw, state = bytearray(), seed
    for x0, y0, dx, dy in passes:
        w = (width - x0 + dx - 1) // dx if width > x0 else 0
        h = (height - y0 + dy - 1) // dy if height > y0 else 0
        if w == 0 or h == 0:
            continue
        for _ in range(h):
            raw.append(0)
            for _ in range(rowbytes(w)):
                state = (state * 1103515245 + 12345) & 0x7FFFFFFF
                raw.append(state >> 16 & 0xFF)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth,
                                                              color, 0, 0, interlace))
    out += extra
    if color == 3:
        out += chunk(b"PLTE", bytes(i * 37 & 0xFF for i in range(3 << depth)))
    return out + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + late + chunk(b"IEND", b"")


def png_seeds():
    out = CORPUS / "png"
    out.mkdir(parents=True, exist_ok=True)
    seeds = {
        "rgb8.png": png(5, 3, 2, 8),
        "rgba8.png": png(4, 4, 6, 8),
        "rgb16.png": png(3, 2, 2, 16),
        "rgba16.png": png(2, 3, 6, 16),
        "gray1.png": png(13, 2, 0, 1),
        "gray2.png": png(7, 3, 0, 2),
        "gray4.png": png(5, 2, 0, 4),
        "gray8.png": png(4, 2, 0, 8),
        "gray16.png": png(3, 3, 0, 16),
        "gray_alpha8.png": png(3, 2, 4, 8),
        "gray_alpha16.png": png(2, 2, 4, 16),
        "palette1.png": png(9, 2, 3, 1),
        "palette4.png": png(5, 3, 3, 4),
        "rgb8_trns.png": png(3, 3, 2, 8, extra=chunk(b"tRNS", struct.pack(">HHH", 1, 2, 3))),
        "gray8_trns.png": png(3, 3, 0, 8, extra=chunk(b"tRNS", struct.pack(">H", 7))),
        "interlaced_rgb8.png": png(9, 9, 2, 8, interlace=1),
        "interlaced_gray2.png": png(11, 5, 0, 2, interlace=1),
        "interlaced_palette4.png": png(10, 3, 3, 4, interlace=1),
        "interlaced_rgba16.png": png(3, 9, 6, 16, interlace=1),
        "exif_orient6_be.png": png(4, 3, 2, 8, extra=chunk(b"eXIf", exif(6))),
        "exif_orient8_le.png": png(3, 2, 2, 8, extra=chunk(b"eXIf", exif(8, False))),
        "exif_orient5_late.png": png(3, 2, 6, 8, late=chunk(b"eXIf", exif(5))),
        "ancillary.png": png(3, 3, 2, 8, extra=chunk(b"gAMA", struct.pack(">I", 45455)) +
                             chunk(b"sBIT", b"\x05\x06\x05") +
                             chunk(b"tEXt", b"Comment\0fuzz seed") +
                             chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"compressed text")) +
                             chunk(b"iTXt", b"Title\0\0\0en\0Title\0text") +
                             chunk(b"pHYs", struct.pack(">IIB", 2835, 2835, 1))),
    }
    # A palette file with a tRNS chunk: alpha from the palette.
    p = png(4, 3, 3, 8)
    i = p.index(b"IDAT") - 4
    seeds["palette8_trns.png"] = p[:i] + chunk(b"tRNS", bytes([0, 128, 255, 30])) + p[i:]
    for name, body in seeds.items():
        (out / name).write_bytes(body)


CLI_SEEDS = {
    "minimal": ["-c", "a.png", "-s", "b.png"],
    "full": ["-c", "a.jpg", "-s", "b.png,c.jpg", "--style-blend-weights", "2,1", "-o", "o.jpg",
             "-m", "vgg19.pth", "-d", "gpu", "--size", "768", "--style-scale", "0.5",
             "--iterations", "10", "--optimizer", "adam", "--learning-rate", "3",
             "--lbfgs-history", "20", "--line-search", "none", "--content-weight", "1e5",
             "--style-weight", "3e4", "--tv-weight", "0", "--content-layers", "conv4_2,relu3_1",
             "--style-layers", "relu1_1,pool2,conv3_1", "--style-layer-weights", "1,2,3",
             "--pooling", "avg", "--init", "random", "--seed", "42", "--original-colors",
             "--normalization", "paper", "--print-every", "5", "--save-every", "2",
             "--log", "run.jsonl", "--output-depth", "16", "--jpeg-quality", "90",
             "--max-pixels", "1000000", "-q", "-v", "-vv"],
    "short_cluster": ["-qvc", "a.png", "-sb.png", "-oout.png"],
    "equals": ["--content=a.png", "--style=b.png", "--size=64", "--init=start.png"],
    "abbreviated": ["--cont", "a.png", "--sty", "b.png", "--it", "5"],
    "help": ["--help"],
    "help_short": ["-h", "-c", "a.png"],
    "version": ["--version"],
    "unknown_long": ["--nope", "-c", "a.png"],
    "unknown_short": ["-zq", "-c", "a.png"],
    "missing_value": ["-c", "a.png", "-s"],
    "missing_value_long": ["-c", "a.png", "-s", "b.png", "--size"],
    "operand": ["-c", "a.png", "-s", "b.png", "extra"],
    "double_dash": ["-c", "a.png", "--", "-s"],
    "bad_number": ["-c", "a.png", "-s", "b.png", "--size", "12abc"],
    "bad_float": ["-c", "a.png", "-s", "b.png", "--style-weight", "nan"],
    "blend_mismatch": ["-c", "a.png", "-s", "b.png,c.png", "--style-blend-weights", "1,2,3"],
    "bad_layer": ["-c", "a.png", "-s", "b.png", "--style-layers", "relu9_9"],
    "layer_weights_mismatch": ["-c", "a", "-s", "b", "--style-layer-weights", "1,2"],
    "trailing_comma": ["-c", "a", "-s", "b,", "--style-blend-weights", "1,"],
    "many_styles": ["-c", "a", "-s", ",".join("s%d" % i for i in range(20))],
    "choice_bad": ["-c", "a", "-s", "b", "--optimizer", "sgd", "--pooling", "min"],
    "seed_big": ["-c", "a", "-s", "b", "--seed", "9223372036854775808"],
    "no_content": ["-s", "b.png"],
    "empty_args": ["", "", "-c", "", "-s", ""],
}


# `clstyle stylize` arguments; the first part is also read as a --shard value and a frame
# pattern, the second as a file name for that pattern.
STYLIZE_SEEDS = {
    "typical": ["-m", "candy", "-c", "photo.jpg", "-o", "out.png"],
    "full": ["-m", "mosaic.pth", "-c", "a.png", "-c", "photos", "-c", "frames/f_%05d.png",
             "-o", "out", "--size", "512", "--shard", "1/4", "--original-colors",
             "--output-depth", "16", "--jpeg-quality", "90", "--max-pixels", "1000000",
             "-d", "gpu", "-q", "-v", "-vv"],
    "equals": ["--model=udnie.safetensors", "--content=frame_%d.jpg", "--output=o",
               "--shard=0/1", "--output-depth=8", "--jpeg-q=1", "--orig"],
    "help": ["-h", "--size", "1"],
    "shard_first": ["3/8", "-m", "candy", "-c", "x.png", "-o", "y.png"],
    "shard_bad": ["4/4", "--shard", "-1/2", "-m", "a", "-c", "b", "-o", "c"],
    "shard_huge": ["0/99999999999999999999", "--shard", "2/1000001"],
    "pattern_d": ["%d.png", "17.png"],
    "pattern_05d": ["frame_%05d.png", "frame_00042.png"],
    "pattern_percent": ["%d%%.png", "7%.png"],
    "pattern_percent_prefix": ["100%%_%03d.png", "100%_003.png"],
    "pattern_wide": ["f%0300d", "f" + "0" * 299 + "1"],
    "pattern_two": ["a%d_%d.png", "a1_2.png"],
    "bad_values": ["-m", "a", "-c", "b", "-o", "c", "--size", "7", "--output-depth", "12",
                   "--jpeg-quality", "0", "--max-pixels", "1e9"],
    "bad_depth": ["-m", "a", "-c", "b", "-o", "c", "--output-depth", "12"],
    "missing_value": ["-m", "a", "-c", "b", "-o"],
    "unknown": ["-zq", "-m", "a", "--nope"],
    "operand": ["-m", "a", "-c", "b", "-o", "c", "extra"],
    "no_model": ["-c", "b", "-o", "c"],
    "too_many": sum((["-c", "i%d.png" % i] for i in range(257)), ["-m", "a", "-o", "d"]),
}


# `clstyle train` arguments.
TRAIN_SEEDS = {
    "typical": ["-s", "starry.jpg", "--dataset", "coco", "-o", "starry.safetensors"],
    "full": ["-s", "s.png", "--dataset", "d", "-o", "m.safetensors", "--vgg", "vgg16.pth",
             "--epochs", "3", "--batch-size", "8", "--image-size", "128", "--style-size",
             "512", "--content-weight", "1e5", "--style-weight", "1e10", "--tv-weight", "1e-6",
             "--learning-rate", "1e-3", "--shuffle", "42", "--init", "a.safetensors", "--seed",
             "7", "--checkpoint-every", "0", "--log", "l.jsonl", "-d", "cpu", "-q", "-v"],
    "equals": ["--style=s", "--dataset=d", "--output=o", "--lr=2e-4", "--image-s=64"],
    "help": ["-h", "--epochs", "0"],
    "bad_values": ["-s", "a", "--dataset", "b", "-o", "c", "--image-size", "30", "--lr", "0",
                   "--style-weight", "nan", "--batch-size", "x", "--epochs", "-1"],
    "huge": ["-s", "a", "--dataset", "b", "-o", "c", "--shuffle", "99999999999999999999",
             "--learning-rate", "1e400", "--tv-weight", "inf"],
    "pth_output": ["-s", "a", "--dataset", "b", "-o", "c.PTH"],
    "model_flag": ["-m", "vgg16.pth", "-s", "a"],
    "missing_value": ["-s", "a", "--dataset"],
    "operand": ["-s", "a", "--dataset", "b", "-o", "c", "extra"],
}


def cli_seeds():
    for target, seeds in (("cli_options", CLI_SEEDS), ("stylize_args", STYLIZE_SEEDS),
                          ("train_args", TRAIN_SEEDS)):
        out = CORPUS / target
        out.mkdir(parents=True, exist_ok=True)
        for name, args in seeds.items():
            (out / name).write_bytes(b"\0".join(a.encode() for a in args))


def main():
    images, weights = DATA / "images", DATA / "bad" / "weights"
    bad_images = DATA / "bad" / "images"
    png_seeds()
    copy("png", bad_images.glob("*.png"))
    copy("jpeg", list(images.glob("*.jpg")) + list(bad_images.glob("*.jpg")))
    copy("safetensors", weights.glob("*.safetensors"))
    pth = list(weights.glob("*.pth"))
    copy("pth_zip", [p for p in pth if p.read_bytes()[:4] == b"PK\x03\x04"])
    copy("pth_legacy", [p for p in pth if p.read_bytes()[:1] == b"\x80"])
    cli_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
