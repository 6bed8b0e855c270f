#!/usr/bin/env bash
# Tiled against untiled: the same run through the clstyle command at one size, first whole
# and then under each --max-memory given (which tiles it, or moves the L-BFGS history to the
# host), reporting the plan clstyle announces, the seconds per iteration and per evaluation
# (iterations 2-4, L-BFGS 2-8, from --log, after a warm-up run that compiles kernels and chooses
# algorithms) and the process's peak RSS (on PoCL the device memory is the process's). Adam
# unless --lbfgs (L-BFGS with --max-ls budget, so every run takes the same evaluations).
#
#   bench/tiling.sh [--clstyle PATH] [--model FILE] [--lbfgs] SIZE LIMIT [LIMIT...]
#   e.g. bench/tiling.sh 512 600M 500M; bench/tiling.sh --lbfgs 1024 3G
#
# Without --model: random VGG-19 weights (make-weights --seed 1 from the newest build).
# Content and style: examples/content.png and examples/style.png.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
clstyle=$(ls -t "$root"/build*/src/clstyle 2>/dev/null | head -1 || true)
model= optimizer=(--optimizer adam) iterations=4
while [ $# -gt 0 ]; do
    case "$1" in
    --clstyle) clstyle=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --lbfgs) optimizer=(--optimizer lbfgs --max-ls budget) iterations=8; shift ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) break ;;
    esac
done
[ $# -ge 2 ] || { sed -n '2,14p' "$0"; exit 2; }
[ -x "$clstyle" ] || { echo "no clstyle: build first, or give --clstyle" >&2; exit 1; }
size=$1; shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$model" ]; then
    make=$(ls -t "$root"/build*/tests/make-weights | head -1)
    model=$tmp/vgg19.pth
    "$make" --arch vgg19 --format pth --seed 1 "$model"
fi
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for limit in "" "$@"; do
    args=(-c "$root/examples/content.png" -s "$root/examples/style.png" -m "$model"
        --size "$size" --no-multiscale "${optimizer[@]}" --print-every 0)
    [ -n "$limit" ] && args+=(--max-memory "$limit")
    "$clstyle" "${args[@]}" --iterations 1 -q -o "$tmp/warm.png"
    /usr/bin/time -f "peak RSS %M KB" -o "$tmp/time" "$clstyle" "${args[@]}" --iterations "$iterations" \
        --log "$tmp/log.jsonl" -o "$tmp/out.png" 2> "$tmp/err"
    echo "--max-memory ${limit:-none}:"
    grep -E "device memory|host memory|tiled exactly" "$tmp/err" | sed 's/^clstyle: /  /'
    python3 - "$tmp/log.jsonl" "$(cat "$tmp/time")" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
seconds = rows[-1]["elapsed_s"] - rows[0]["elapsed_s"]
evals = rows[-1]["evals"] - rows[0]["evals"]
print("  %.2f s per iteration (2-%d), %.2f s per evaluation, loss after %d %.6e, %s"
      % (seconds / (len(rows) - 1), len(rows), seconds / max(evals, 1), len(rows),
         rows[-1]["loss"], sys.argv[2]))
PY
done
