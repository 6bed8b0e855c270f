#!/usr/bin/env python3
"""Makes the committed image fixtures of the io tests (run by hand; needs Pillow, CI does not).

tests/data/images/
  rgb_baseline.jpg, rgb_progressive.jpg   the 48x32 pattern below, quality 95, 4:4:4
  gray.jpg                                six grey levels in the same 16x16 blocks
  cmyk.jpg                                CMYK blocks, as Pillow writes them: Adobe APP14
                                          marker, inverted samples (as Photoshop does)
  orient_1.jpg .. orient_8.jpg            the pattern stored so that the EXIF orientation
                                          (big-endian "MM" EXIF, as Pillow writes it) turns it
                                          upright; checked here with ImageOps.exif_transpose
  orient_6_le.jpg                         orientation 6 in a little-endian ("II") EXIF block
tests/data/bad/images/                    corrupt, truncated and hostile files and MANIFEST
                                          (file<TAB>expected status<TAB>message substring;
                                          for CLS_OK the substring is the decoded WxH)

The pattern is 3 x 2 blocks of 16x16 pixels, one colour each (row by row):
  red, green, blue / yellow, magenta, white.

usage: make_test_images.py [REPO_ROOT]
"""

import io
import os
import struct
import sys
import zlib

from PIL import Image, ImageOps

BLOCK = 16
COLORS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (255, 255, 255)]
GRAYS = [0, 50, 100, 150, 200, 255]
# CMYK ink amounts per block (0 = none); the test expects (255 - c)(255 - k) / 255 per channel.
CMYK = [(0, 0, 0, 0), (255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 255, 0), (0, 0, 0, 100),
        (128, 0, 0, 128)]

# Pillow's transpose that undoes each orientation (as exif_transpose applies it), and the
# inverse used to store the upright pattern.
UPRIGHT_OP = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
INVERSE_OP = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def blocks(mode, values):
    image = Image.new(mode, (3 * BLOCK, 2 * BLOCK))
    for i, value in enumerate(values):
        x, y = (i % 3) * BLOCK, (i // 3) * BLOCK
        image.paste(value, (x, y, x + BLOCK, y + BLOCK))
    return image


def jpeg_bytes(image, **options):
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, subsampling=0, **options)
    return out.getvalue()


def tiff_ifd(big_endian, entries, next_ifd=0, count=None):
    """A TIFF block: header, then IFD0 with (tag, type, count, 4 value bytes) entries (count:
    the entry count to claim, if not the true one)."""
    e = ">" if big_endian else "<"
    out = (b"MM\0*" if big_endian else b"II*\0") + struct.pack(e + "I", 8)
    out += struct.pack(e + "H", len(entries) if count is None else count)
    for tag, kind, count, value in entries:
        out += struct.pack(e + "HHI", tag, kind, count) + value
    return out + struct.pack(e + "I", next_ifd)


def short_value(big_endian, v):
    return struct.pack((">" if big_endian else "<") + "HH", v, 0)


def with_app1(jpeg, payload):
    """jpeg with an APP1 segment holding payload right after SOI."""
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def make_good(images):
    pattern = blocks("RGB", COLORS)
    write(os.path.join(images, "rgb_baseline.jpg"), jpeg_bytes(pattern))
    write(os.path.join(images, "rgb_progressive.jpg"), jpeg_bytes(pattern, progressive=True))
    write(os.path.join(images, "gray.jpg"), jpeg_bytes(blocks("L", GRAYS)))
    cmyk = jpeg_bytes(blocks("CMYK", CMYK))
    assert b"Adobe" in cmyk, "Pillow is expected to write an Adobe APP14 marker for CMYK"
    write(os.path.join(images, "cmyk.jpg"), cmyk)
    for orientation in range(1, 9):
        stored = pattern if orientation == 1 else pattern.transpose(INVERSE_OP[orientation])
        exif = Image.Exif()
        exif[0x0112] = orientation
        data = jpeg_bytes(stored, exif=exif.tobytes())
        check_upright(data, pattern, orientation)
        write(os.path.join(images, "orient_%d.jpg" % orientation), data)
    stored = pattern.transpose(INVERSE_OP[6])
    exif = b"Exif\0\0" + tiff_ifd(False, [(0x0112, 3, 1, short_value(False, 6))])
    data = with_app1(jpeg_bytes(stored), exif)
    check_upright(data, pattern, 6)
    write(os.path.join(images, "orient_6_le.jpg"), data)


def check_upright(data, pattern, orientation):
    """The convention check: Pillow's exif_transpose turns the stored file upright."""
    image = Image.open(io.BytesIO(data))
    assert image.getexif().get(0x0112, 1) == orientation
    upright = ImageOps.exif_transpose(image)
    assert upright.size == pattern.size, (orientation, upright.size)
    for i, color in enumerate(COLORS):
        x, y = (i % 3) * BLOCK + BLOCK // 2, (i // 3) * BLOCK + BLOCK // 2
        got = upright.getpixel((x, y))
        assert max(abs(a - b) for a, b in zip(got, color)) < 8, (orientation, i, got)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_file(width, height, idat=None, color_type=2, depth=8, extra=b""):
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
    if idat is None:
        idat = zlib.compress(b"\0" * 4)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


def small_png():
    out = io.BytesIO()
    blocks("RGB", COLORS).resize((24, 16)).save(out, "PNG")
    return out.getvalue()


def jpeg_segments(data):
    """(offset, marker) of each segment before the first SOS."""
    pos, found = 2, []
    while pos < len(data):
        marker = data[pos + 1]
        found.append((pos, marker))
        if marker == 0xDA:
            break
        pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
    return found


def with_sof_size(jpeg, width, height, precision=None):
    """jpeg with the SOF segment's dimensions (and sample precision) replaced."""
    for pos, marker in jpeg_segments(jpeg):
        if marker in (0xC0, 0xC1, 0xC2):
            out = bytearray(jpeg)
            if precision is not None:
                out[pos + 4] = precision
            out[pos + 5:pos + 9] = struct.pack(">HH", height, width)
            return bytes(out)
    raise ValueError("no SOF")


def repeated_last_scan(jpeg, times):
    """A progressive jpeg with its last scan repeated: many scans, each a full pass."""
    sos = [pos for pos, marker in all_markers(jpeg) if marker == 0xDA]
    last = jpeg[sos[-1]:-2]
    return jpeg[:-2] + last * times + b"\xff\xd9"


def all_markers(data):
    """(offset, marker) of every marker segment, entropy-coded data skipped."""
    pos, found = 2, []
    while pos + 4 <= len(data):
        marker = data[pos + 1]
        found.append((pos, marker))
        if marker == 0xD9:
            break
        pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if marker == 0xDA:
            while not (data[pos] == 0xFF and data[pos + 1] not in (0x00,)
                       and not 0xD0 <= data[pos + 1] <= 0xD7):
                pos += 1
    return found


def make_bad(bad):
    rows = []

    def add(name, data, status, message):
        write(os.path.join(bad, name), data)
        rows.append((name, status, message))

    png = small_png()
    jpeg = jpeg_bytes(blocks("RGB", COLORS))
    progressive = jpeg_bytes(blocks("RGB", COLORS), progressive=True)
    fmt = "CLS_ERR_IMAGE_FORMAT"
    big = "CLS_ERR_IMAGE_TOO_LARGE"

    add("empty.png", b"", fmt, "is an empty file")
    add("gif_named.png", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", fmt, "is a GIF image")
    add("text.jpg", b"hello, this is not an image\n", fmt,
        "not a PNG or JPEG file (it starts with bytes 68 65 6c 6c 6f 2c 20 74)")

    idat = png.index(b"IDAT") - 4
    for cut in (8, 12, 20, 33, idat + 8, idat + 20, len(png) - 12, len(png) - 1):
        add("png_truncated_%d.png" % cut, png[:cut], fmt, "unexpected end of file (truncated)")
    bad_crc = bytearray(png)
    bad_crc[29] ^= 0xFF  # the IHDR CRC
    add("png_bad_crc_ihdr.png", bytes(bad_crc), fmt, "IHDR: CRC error")
    bad_crc = bytearray(png)
    bad_crc[idat + 8 + struct.unpack(">I", png[idat:idat + 4])[0]] ^= 0xFF
    add("png_bad_crc_idat.png", bytes(bad_crc), fmt, "IDAT: CRC error")
    add("png_zero_width.png", png_file(0, 16), fmt, "Image width is zero in IHDR")
    add("png_bomb.png", png_file(100000, 100000), big, "100000x100000 is 10000000000 pixels")
    add("png_bomb_wide.png", png_file(0x7FFFFFFF, 1), big, "exceeds user limit")
    # Under the pixel limit, but 12 bytes of deflate data cannot hold 300 MB of rows.
    add("png_data_short.png", png_file(10000, 10000), fmt,
        "not enough image data: 10000x10000 pixels cannot fit in 12 bytes")
    add("png_bad_zlib.png", png_file(4, 4, idat=b"\x78\x9c" + b"\xff" * 16), fmt,
        "not a valid PNG file: IDAT: ")
    add("png_not_enough_data.png", png_file(64, 64), fmt, "Not enough image data")
    add("png_no_plte.png", png_file(4, 4, color_type=3), fmt, "Missing PLTE before IDAT")
    add("png_bad_depth.png", png_file(4, 4, depth=3), fmt, "Invalid IHDR data")
    # A chunk declaring more bytes than the file holds: libpng would allocate them first.
    add("png_chunk_length_huge.png", png_file(4, 3)[:33] + struct.pack(">I", 0x74000030)
        + b"tEXtComment\0", fmt, "unexpected end of file (truncated): chunk tEXt at byte 33")

    sos = [pos for pos, marker in jpeg_segments(jpeg) if marker == 0xDA][0]
    for cut in (3, 4, 20, 100, sos + 4, sos + 40, len(jpeg) // 2, len(jpeg) - 2):
        add("jpeg_truncated_%d.jpg" % cut, jpeg[:cut], fmt, "Premature end of JPEG file")
    cut = len(progressive) // 2
    add("jpeg_progressive_truncated_%d.jpg" % cut, progressive[:cut], fmt,
        "Premature end of JPEG file")
    corrupt = bytearray(jpeg)
    corrupt[sos + 40:sos + 80] = b"\0" * 40
    add("jpeg_corrupt_scan.jpg", bytes(corrupt), fmt, "Corrupt JPEG data")
    add("jpeg_no_image.jpg", b"\xff\xd8\xff\xd9", fmt, "JPEG datastream contains no image")
    add("jpeg_bomb.jpg", with_sof_size(jpeg, 60000, 60000), big,
        "60000x60000 is 3600000000 pixels")
    add("jpeg_bomb_65535.jpg", with_sof_size(jpeg, 65535, 65535), big,
        "Maximum supported image dimension is 65500 pixels")
    # Huffman data holds at least a bit per 8x8 block: 740 bytes cannot be 10000x10000.
    add("jpeg_data_short.jpg", with_sof_size(jpeg, 10000, 10000), fmt,
        "not enough image data: 10000x10000 pixels cannot fit in")
    add("jpeg_zero_width.jpg", with_sof_size(jpeg, 0, 32), fmt, "Empty JPEG image")
    add("jpeg_12bit.jpg", with_sof_size(jpeg, 48, 32, precision=12), fmt,
        "Unsupported JPEG data precision 12")
    add("jpeg_many_scans.jpg", repeated_last_scan(progressive, 600), fmt, "more than 500 scans")

    le, be = False, True
    hostile = {
        "exif_ifd_past_end": b"II*\0" + struct.pack("<I", 0xFFFFFF00) + b"\0" * 16,
        "exif_huge_count": tiff_ifd(le, [(0x0110, 2, 4, b"abc\0")], count=65535),
        "exif_loop": tiff_ifd(le, [(0x010F, 2, 4, b"abc\0")], next_ifd=8),
        "exif_value_out_of_range": tiff_ifd(be, [(0x0112, 3, 1, short_value(be, 9))]),
        "exif_wrong_type": tiff_ifd(le, [(0x0112, 2, 1, b"6\0\0\0")]),
        "exif_entry_cut": tiff_ifd(le, [(0x0112, 3, 1, short_value(le, 6))])[:8 + 2 + 8],
        "exif_short_header": b"II*",
        "exif_bad_byte_order": b"XX*\0" + tiff_ifd(le, [(0x0112, 3, 1, short_value(le, 6))])[4:],
        "exif_offset_wraps": b"MM\0*\xff\xff\xff\xff",
    }
    for name, tiff in hostile.items():
        add(name + ".jpg", with_app1(jpeg, b"Exif\0\0" + tiff), "CLS_OK", "48x32")

    with open(os.path.join(bad, "MANIFEST"), "w") as f:
        f.write("# Generated by tests/tools/make_test_images.py: file<TAB>expected status<TAB>"
                "expected message substring\n# (for CLS_OK: the decoded WxH; the hostile EXIF "
                "blocks are ignored)\n")
        for row in rows:
            f.write("\t".join(row) + "\n")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    images = os.path.join(root, "tests", "data", "images")
    bad = os.path.join(root, "tests", "data", "bad", "images")
    os.makedirs(images, exist_ok=True)
    os.makedirs(bad, exist_ok=True)
    make_good(images)
    make_bad(bad)


if __name__ == "__main__":
    main()
