#!/usr/bin/env python3
"""Draws the example images in examples/ (Python standard library only, so anyone can
regenerate them): content.png, a small landscape, and style.png, a swirling brush-stroke
pattern in the manner of a night sky painting. Both are the project's own work.
Usage: python3 tools/make-example-images.py [OUT_DIR]"""
import math
import os
import struct
import sys
import zlib


def write_png(path, width, height, pixel):
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # no filter
        for x in range(width):
            rows.extend(max(0, min(255, int(round(v)))) for v in pixel(x, y))
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(bytes(rows), 9))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def mix(a, b, t):
    return tuple(p + (q - p) * t for p, q in zip(a, b))


def landscape(x, y, w=256, h=192):
    u, v = x / w, y / h
    sky = mix((110, 160, 225), (235, 200, 170), v / 0.6)
    sun = math.hypot(u - 0.72, v - 0.28)
    if sun < 0.07:
        return (255, 235, 180)
    color = mix(sky, (255, 230, 170), max(0.0, 0.25 - sun) * 2)
    hill1 = 0.55 + 0.08 * math.sin(u * 7.0 + 1.0)
    hill2 = 0.68 + 0.06 * math.sin(u * 11.0 + 2.5)
    if v > hill1:
        color = mix((70, 120, 70), (40, 80, 45), (v - hill1) * 3)
    if v > hill2:
        color = mix((110, 150, 60), (60, 100, 40), (v - hill2) * 3)
    if 0.2 < u < 0.28 and 0.45 < v < 0.62:  # a house
        color = (180, 70, 50) if v < 0.5 else (220, 210, 190)
    return color


def swirls(x, y, w=256, h=256):
    u, v = x / w * 2 * math.pi, y / h * 2 * math.pi
    a = math.sin(3 * u + 2 * math.sin(2 * v)) + math.cos(4 * v + 1.5 * math.sin(3 * u))
    strokes = 0.5 + 0.5 * math.sin(12 * (u + 0.3 * a))
    base = mix((20, 40, 110), (60, 110, 190), 0.5 + 0.25 * a)
    color = mix(base, (235, 205, 70), strokes ** 6)
    return mix(color, (250, 250, 230), max(0.0, math.sin(7 * u) * math.sin(5 * v)) ** 12)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "examples")
    os.makedirs(out, exist_ok=True)
    write_png(os.path.join(out, "content.png"), 256, 192, landscape)
    write_png(os.path.join(out, "style.png"), 256, 256, swirls)


if __name__ == "__main__":
    main()
