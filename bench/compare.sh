#!/usr/bin/env bash
# Compares one style transfer evaluation in clstyle (clstyle-bench --eval) with PyTorch
# (bench/peer/torch_gatys.py) on this machine. Builds nothing.
#
#   bench/compare.sh [CLSTYLE_BENCH [MODEL]] [--sizes "256 512"] [--repeats N] [--warmup W]
#
# Without CLSTYLE_BENCH: the newest build*/bench/clstyle-bench. Without MODEL: random VGG-19
# weights from build*/tests/make-weights (seed 1) in a temporary directory. Both sides use
# the same weight file. Extra clstyle-bench options (e.g. -d gpu) through $CLSTYLE_BENCH_ARGS,
# extra torch_gatys.py options (e.g. --device cpu) through $TORCH_ARGS.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
sizes="256 512"
repeats=3
warmup=1
positional=()
while [ $# -gt 0 ]; do
    case "$1" in
    --sizes) sizes=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) positional+=("$1"); shift ;;
    esac
done
bench=${positional[0]:-}
model=${positional[1]:-}

first_built() { # the newest executable build*/$1 under the repository root
    local f newest=
    for f in "$root"/build*/"$1"; do
        if [ -x "$f" ] && { [ -z "$newest" ] || [ "$f" -nt "$newest" ]; }; then
            newest=$f
        fi
    done
    [ -n "$newest" ] && echo "$newest"
}

if [ -z "$bench" ]; then
    bench=$(first_built bench/clstyle-bench) ||
        { echo "compare.sh: no build*/bench/clstyle-bench (configure with -Dbench=true)" >&2; exit 2; }
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$model" ]; then
    make_weights=$(first_built tests/make-weights) ||
        { echo "compare.sh: no model given and no build*/tests/make-weights" >&2; exit 2; }
    model=$tmp/vgg19-seed1.pth
    "$make_weights" --arch vgg19 --format pth --seed 1 "$model"
fi

cls_args=(--model "$model" --repeats "$repeats" --warmup "$warmup" --json)
torch_args=(--model "$model" --repeats "$repeats" --warmup "$warmup" --json)
for s in $sizes; do
    cls_args+=(--eval "$s")
    torch_args+=(--size "$s")
done
echo "clstyle: $bench" >&2
# shellcheck disable=SC2086
"$bench" ${CLSTYLE_BENCH_ARGS:-} "${cls_args[@]}" >"$tmp/clstyle.json"
echo "pytorch: $here/peer/torch_gatys.py" >&2
# shellcheck disable=SC2086
python3 "$here/peer/torch_gatys.py" ${TORCH_ARGS:-} "${torch_args[@]}" >"$tmp/torch.json"

python3 - "$tmp/clstyle.json" "$tmp/torch.json" <<'PY'
import json, sys
cls, ref = (json.load(open(p)) for p in sys.argv[1:3])
theirs = {r["size"]: r for r in ref["results"]}
print("clstyle device: %s" % cls["device"])
print("PyTorch device: %s" % ref["device"])
print("%-9s %16s %16s %8s %16s" % ("size", "clstyle s/eval", "PyTorch s/eval",
                                    "ratio", "clstyle memory"))
for r in cls["results"]:
    t = theirs[r["size"]]
    print("%-9s %16.3f %16.3f %8.2f %12.1f MiB" % ("%dx%d" % (r["size"], r["size"]), r["eval_s"],
          t["eval_s"], r["eval_s"] / t["eval_s"], r["device_bytes"] / 2**20))
print("(ratio = clstyle / PyTorch; median of %d evaluations after %d warm-up)"
      % (r["repeats"], r["warmup"]))
PY
