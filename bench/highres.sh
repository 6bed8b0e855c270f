#!/usr/bin/env bash
# A high-resolution run as a user makes it: multiscale up to SIZE, the top stage ITERATIONS
# L-BFGS iterations (the stages below --stage-iterations each), on a square crop of
# examples/content.png, under a device memory limit (PoCL's POCL_MEMORY_LIMIT in GiB, as a
# GPU of that size; the run tiles and moves the L-BFGS history to the host as it needs).
# Reports the plan clstyle announces, the seconds per evaluation and per iteration of the top
# stage (from --log), the process's peak RSS, and keeps the image and the log.
#
#   bench/highres.sh [--clstyle PATH] [--model FILE] [--out DIR] SIZE GIB [ITERATIONS]
#       [STAGE_ITERATIONS] [-- EXTRA CLSTYLE ARGS]
#   e.g. bench/highres.sh 2048 1 10 2
#
# Without --model: random VGG-19 weights (make-weights --seed 1 from the newest build).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
clstyle=$(ls -t "$root"/build*/src/clstyle 2>/dev/null | head -1 || true)
model= out=.
while [ $# -gt 0 ]; do
    case "$1" in
    --clstyle) clstyle=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) break ;;
    esac
done
[ $# -ge 2 ] || { sed -n '2,14p' "$0"; exit 2; }
[ -x "$clstyle" ] || { echo "no clstyle: build first, or give --clstyle" >&2; exit 1; }
size=$1 gib=$2 iterations=${3:-10} stage_iterations=${4:-2}
shift $(($# < 4 ? $# : 4))
[ "${1:-}" = "--" ] && shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$model" ]; then
    make=$(ls -t "$root"/build*/tests/make-weights | head -1)
    model=$tmp/vgg19.pth
    "$make" --arch vgg19 --format pth --seed 1 "$model"
fi
# A square content image: the centre of examples/content.png (clstyle scales it to SIZE).
python3 - "$root/examples/content.png" "$tmp/square.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
pos, idat, width = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and colour == 2, "expects 8-bit RGB"
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw, stride, rows, prev = zlib.decompress(idat), 3 * width, [], bytearray(3 * width)
for y in range(height):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - 3] if i >= 3 else 0
        b, c = prev[i], prev[i - 3] if i >= 3 else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
side, x0 = min(width, height), (width - min(width, height)) // 2
y0 = (height - side) // 2
body = b"".join(b"\0" + bytes(rows[y0 + y][3 * x0:3 * (x0 + side)]) for y in range(side))
chunk = lambda k, b: struct.pack(">I", len(b)) + k + b + struct.pack(">I", zlib.crc32(k + b))
open(sys.argv[2], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(
    ">IIBBBBB", side, side, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(body)) + chunk(b"IEND", b""))
PY
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) threads"
mkdir -p "$out"
image=$out/highres-$size.png log=$out/highres-$size.jsonl
rm -f "$log"
POCL_MEMORY_LIMIT=$gib /usr/bin/time -f "peak RSS %M KB, %e s in all" -o "$tmp/time" \
    "$clstyle" -c "$tmp/square.png" -s "$root/examples/style.png" -m "$model" --size "$size" \
    --iterations "$iterations" --stage-iterations "$stage_iterations" --min-scale 512 \
    --print-every 1 --log "$log" -o "$image" "$@" 2> "$tmp/err" || { cat "$tmp/err"; exit 1; }
grep -E "device memory|host memory|tiled exactly|multiscale|^clstyle: wrote" "$tmp/err" | sed 's/^clstyle: /  /'
python3 - "$log" "$size" "$(cat "$tmp/time")" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
top = [r for r in rows if r.get("width") == int(sys.argv[2]) or r.get("height") == int(sys.argv[2])]
if len(top) >= 2:
    seconds = top[-1]["elapsed_s"] - top[0]["elapsed_s"]
    evals = top[-1]["evals"] - top[0]["evals"]
    print("  top stage: %d iterations; iterations 2-%d: %.1f s per iteration, %.1f s per "
          "evaluation; loss %.6e -> %.6e" % (len(top), len(top), seconds / (len(top) - 1),
                                             seconds / max(evals, 1), top[0]["loss"], top[-1]["loss"]))
print("  " + sys.argv[3])
PY
