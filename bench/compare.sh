#!/usr/bin/env bash
# Compares clstyle (clstyle-bench) with PyTorch on this machine. Builds nothing.
#
#   bench/compare.sh [CLSTYLE_BENCH [MODEL]] [--sizes "256 512"] [--repeats N] [--warmup W]
#                    [--eval-only] [--transfer-iterations N] [--save DIR]
#   bench/compare.sh --stylize [CLSTYLE_BENCH [MODEL]] [--sizes "512 1024"] [--repeats N]
#                    [--warmup W] [--save DIR]
#   bench/compare.sh --train [CLSTYLE_BENCH [VGG16]] [--init TRANSFORMER] [--sizes 256]
#                    [--batch 4] [--repeats N] [--warmup W] [--save DIR]
#
# Default (Gatys, against bench/peer/torch_gatys.py): one style transfer evaluation per
# size, then op by op (every VGG-19 conv layer shape forward and backward-data, the Gram
# products and losses, one evaluation, the L-BFGS optimiser's own work and a real L-BFGS
# iteration) side by side. --eval-only: only the evaluations (faster). --transfer-iterations:
# the real L-BFGS run's iterations on both sides (24; its first line search takes several
# evaluations and is left out, and with random weights the searches after it are chaotic:
# with 8, one side's median iteration may hold 2 evaluations by chance).
# --stylize (fast style, against bench/peer/torch_ffnet.py): seconds per image and images
# per second of the TransformerNet forward pass (clstyle: the whole cls_ffnet_run call,
# upload, forward, download) at each size (default "512 1024"), clstyle's device memory
# there and at 2048x2048, the CPU model, the clstyle device and the torch version; MODEL is
# then a transformer weight file.
# --train (fast-style training, against bench/peer/torch_train.py, pytorch/examples'
# `neural_style.py train` loop): seconds per training step of a batch (default 4) of random
# SIZE x SIZE images (default 256; clstyle: the whole cls_trainer_step call, upload, forward,
# losses, backward and Adam), images per second, the first step's time (kernel compiles:
# set XDG_CACHE_HOME to an empty directory to include them), clstyle's device memory of a
# step, the CPU model, the clstyle device, the torch version, and both sides' first-step
# loss (the same weights and images: they should agree to float32 rounding). MODEL is then
# a VGG-16 file (the loss network), --init the transformer both sides start from; without
# them, random ones from make-weights (seed 1; the transformer as safetensors). The peer gets
# --threads $(nproc) (PoCL uses every core) unless $TORCH_ARGS gives another.
# --save DIR: keep both sides' JSON (clstyle.json, torch.json) in DIR.
# Without CLSTYLE_BENCH: the newest build*/bench/clstyle-bench. Without MODEL: random weights
# (VGG-19, or the transformer with --stylize) from build*/tests/make-weights (seed 1) in a
# temporary directory. Both sides use the same weight file. Extra clstyle-bench options
# (e.g. -d gpu) through $CLSTYLE_BENCH_ARGS, extra peer options (e.g. --device cpu, or
# --threads N with --stylize; the peer's default is every CPU, os.cpu_count()) through
# $TORCH_ARGS.
# The peer's Python (torch and numpy): $TORCH_PYTHON if set, else
# bench/peer/.venv/bin/python if it exists (made by bench/peer/setup-peer.sh with a pinned
# PyTorch from PyPI), else python3.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
sizes=
stylize=0
train=0
batch=4
init=
repeats=3
warmup=1
eval_only=0
transfer_iterations=24
save=
positional=()
while [ $# -gt 0 ]; do
    case "$1" in
    --sizes) sizes=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --eval-only) eval_only=1; shift ;;
    --transfer-iterations) transfer_iterations=$2; shift 2 ;;
    --stylize) stylize=1; shift ;;
    --train) train=1; shift ;;
    --batch) batch=$2; shift 2 ;;
    --init) init=$2; shift 2 ;;
    --save) save=$2; shift 2 ;;
    -h | --help) sed -n '2,42p' "$0"; exit 0 ;;
    *) positional+=("$1"); shift ;;
    esac
done
bench=${positional[0]:-}
model=${positional[1]:-}
if [ "$stylize" = 1 ] && [ "$train" = 1 ]; then
    echo "compare.sh: --stylize and --train are separate comparisons" >&2; exit 2
fi
if [ -z "$sizes" ]; then
    if [ "$stylize" = 1 ]; then sizes="512 1024"; elif [ "$train" = 1 ]; then sizes=256;
    else sizes="256 512"; fi
fi
if [ -n "${TORCH_PYTHON:-}" ]; then
    python=$TORCH_PYTHON
elif [ -x "$here/peer/.venv/bin/python" ]; then
    python=$here/peer/.venv/bin/python
else
    python=python3
fi

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
if [ -z "$model" ] || { [ "$train" = 1 ] && [ -z "$init" ]; }; then
    make_weights=$(first_built tests/make-weights) ||
        { echo "compare.sh: no model given and no build*/tests/make-weights" >&2; exit 2; }
fi
if [ "$train" = 1 ]; then
    if [ -z "$model" ]; then
        model=$tmp/vgg16-seed1.pth
        "$make_weights" --arch vgg16 --format pth --seed 1 "$model"
    fi
    if [ -z "$init" ]; then
        init=$tmp/transformer-seed1.safetensors
        "$make_weights" --arch transformer --format safetensors --seed 1 "$init"
    fi
elif [ -z "$model" ]; then
    if [ "$stylize" = 1 ]; then
        model=$tmp/transformer-seed1.pth
        "$make_weights" --arch transformer --format pth --seed 1 "$model"
    else
        model=$tmp/vgg19-seed1.pth
        "$make_weights" --arch vgg19 --format pth --seed 1 "$model"
    fi
fi

save_json() {
    if [ -n "$save" ]; then
        mkdir -p "$save" && cp "$tmp/clstyle.json" "$tmp/torch.json" "$save/"
    fi
}

stylize_table() { # the fast-style table from both sides' JSON
    python3 - "$tmp/clstyle.json" "$tmp/torch.json" <<'PY'
import json, sys
cls, ref = (json.load(open(p)) for p in sys.argv[1:3])
theirs = {r["size"]: r for r in ref["results"] if r["op"] == "stylize"}
print("CPU: %s" % ref["cpu"])
print("clstyle device: %s (OpenCL driver %s)" % (cls["device"], cls["driver"]))
print("PyTorch: %s, %d threads" % (ref["torch"], ref["threads"]))
print("%-9s %16s %9s %16s %9s %7s %16s" % ("size", "clstyle s/image", "images/s",
                                          "PyTorch s/image", "images/s", "ratio",
                                          "clstyle memory"))
for r in cls["results"]:
    if r["op"] != "stylize":
        continue
    t = theirs[r["size"]]
    print("%-9s %16.3f %9.3f %16.3f %9.3f %7.2f %12.1f MiB" % (
        "%dx%d" % (r["size"], r["size"]), r["s"], r["images_per_s"], t["s"],
        t["images_per_s"], r["s"] / t["s"], r["device_bytes"] / 2**20))
    print("%-9s %16.3f %9s %16.3f %9s %7.2f" % ("  fastest", r["min_s"], "", t["min_s"], "",
                                               r["min_s"] / t["min_s"]))
    repeats, warmup = r["repeats"], r["warmup"]
for r in cls["results"]:
    if r["op"] == "stylize_memory":
        print("%-9s %16s %9s %16s %9s %7s %12.1f MiB" % (
            "%dx%d" % (r["size"], r["size"]), "(not run)", "", "", "", "",
            r["device_bytes"] / 2**20))
print("(ratio = clstyle / PyTorch time; median of %d images after %d warm-up, and the\n"
      " fastest of them, which says more on a machine shared with other work;\n"
      " clstyle: the whole cls_ffnet_run call, upload + forward + download;\n"
      " PyTorch: forward + clamp + copy to a host array, inference mode;\n"
      " memory: clstyle's planned device buffers + weights)" % (repeats, warmup))
PY
}

train_table() { # the training table from both sides' JSON
    python3 - "$tmp/clstyle.json" "$tmp/torch.json" <<'PY'
import json, sys
cls, ref = (json.load(open(p)) for p in sys.argv[1:3])
theirs = {r["size"]: r for r in ref["results"] if r["op"] == "train"}
mib = 2.0**20
print("CPU: %s" % ref["cpu"])
print("clstyle device: %s (OpenCL driver %s)" % (cls["device"], cls["driver"]))
print("PyTorch: %s, %d threads" % (ref["torch"], ref["threads"]))
print("%-15s %15s %9s %15s %9s %7s" % ("size, batch", "clstyle s/step", "images/s",
                                       "PyTorch s/step", "images/s", "ratio"))
for r in cls["results"]:
    if r["op"] != "train":
        continue
    t = theirs[r["size"]]
    label = "%dx%d, %d" % (r["size"], r["size"], r["batch"])
    print("%-15s %15.3f %9.3f %15.3f %9.3f %7.2f" % (label, r["s"], r["images_per_s"], t["s"],
                                                     t["images_per_s"], r["s"] / t["s"]))
    print("%-15s %15.3f %9.3f %15.3f %9.3f %7.2f" % (
        "  fastest", r["min_s"], r["batch"] / r["min_s"], t["min_s"], t["batch"] / t["min_s"],
        r["min_s"] / t["min_s"]))
    print("%-15s %15.3f %9s %15.3f %9s %7.2f" % ("  first step", r["first_s"], "",
                                                 t["first_s"], "", r["first_s"] / t["first_s"]))
    print("  clstyle device memory of a step: %.1f MiB = %.1f MiB trainer (planned %.1f MiB:\n"
          "    both networks' activations and gradients, Adam state, batch) + %.1f MiB weights\n"
          "    (VGG-16 and the transformer, derived ones included); PyTorch: process peak RSS\n"
          "    %.1f MiB (host memory, libraries included)"
          % ((r["device_bytes"] + r["weight_bytes"]) / mib, r["device_bytes"] / mib,
             r["plan_bytes"] / mib, r["weight_bytes"] / mib, t["peak_rss_bytes"] / mib))
    a, b = r["first_loss"], t["first_loss"]
    rel = lambda x, y: abs(x - y) / max(abs(y), 1e-30)  # noqa: E731
    print("  first-step loss: clstyle %.7g, PyTorch %.7g (relative difference: total %.2g, "
          "content %.2g, style %.2g)" % (a["total"], b["total"], rel(a["total"], b["total"]),
                                         rel(a["content"], b["content"]),
                                         rel(a["style"], b["style"])))
    repeats, warmup = r["repeats"], r["warmup"]
print("(ratio = clstyle / PyTorch time, target <= 1.0; median of %d steps after %d warm-up, of\n"
      " which the first (kernel compiles) is timed alone, and the fastest of them;\n"
      " clstyle: the whole cls_trainer_step call, upload + forward + losses + backward + Adam;\n"
      " PyTorch: neural_style.py's step, zero_grad to optimizer.step and the losses' .item())"
      % (repeats, warmup))
PY
}

if [ "$train" = 1 ]; then
    cls_args=(--model "$model" --init "$init" --batch "$batch" --repeats "$repeats"
              --warmup "$warmup" --json)
    torch_args=(--model "$model" --init "$init" --batch "$batch" --repeats "$repeats"
                --warmup "$warmup" --threads "$(nproc)" --json)
    for s in $sizes; do
        cls_args+=(--train "$s")
        torch_args+=(--size "$s")
    done
    echo "clstyle: $bench" >&2
    # shellcheck disable=SC2086
    "$bench" ${CLSTYLE_BENCH_ARGS:-} "${cls_args[@]}" >"$tmp/clstyle.json"
    echo "pytorch: $python $here/peer/torch_train.py" >&2
    # the peer's options after compare.sh's: argparse keeps the last --threads
    # shellcheck disable=SC2086
    "$python" "$here/peer/torch_train.py" "${torch_args[@]}" ${TORCH_ARGS:-} >"$tmp/torch.json"
    save_json
    train_table
    exit 0
fi

if [ "$stylize" = 1 ]; then
    cls_args=(--model "$model" --repeats "$repeats" --warmup "$warmup" --json)
    torch_args=(--model "$model" --repeats "$repeats" --warmup "$warmup" --json)
    for s in $sizes; do
        cls_args+=(--stylize "$s")
        torch_args+=(--size "$s")
    done
    echo "clstyle: $bench" >&2
    # shellcheck disable=SC2086
    "$bench" ${CLSTYLE_BENCH_ARGS:-} "${cls_args[@]}" >"$tmp/clstyle.json"
    echo "pytorch: $python $here/peer/torch_ffnet.py" >&2
    # shellcheck disable=SC2086
    "$python" "$here/peer/torch_ffnet.py" ${TORCH_ARGS:-} "${torch_args[@]}" >"$tmp/torch.json"
    save_json
    stylize_table
    exit 0
fi

cls_args=(--model "$model" --repeats "$repeats" --warmup "$warmup" --json
          --transfer-iterations "$transfer_iterations")
torch_args=(--model "$model" --repeats "$repeats" --warmup "$warmup" --json
            --transfer-iterations "$transfer_iterations")
for s in $sizes; do
    torch_args+=(--size "$s")
done
if [ "$eval_only" = 1 ]; then
    for s in $sizes; do
        cls_args+=(--eval "$s")
    done
else
    cls_args+=(--sizes "$(echo "$sizes" | tr ' ' ',')")
    torch_args+=(--ops)
fi
echo "clstyle: $bench" >&2
# shellcheck disable=SC2086
"$bench" ${CLSTYLE_BENCH_ARGS:-} "${cls_args[@]}" >"$tmp/clstyle.json"
echo "pytorch: $python $here/peer/torch_gatys.py" >&2
# shellcheck disable=SC2086
"$python" "$here/peer/torch_gatys.py" ${TORCH_ARGS:-} "${torch_args[@]}" >"$tmp/torch.json"
save_json

python3 - "$tmp/clstyle.json" "$tmp/torch.json" <<'PY'
import json, sys
cls, ref = (json.load(open(p)) for p in sys.argv[1:3])
theirs = {r["size"]: r for r in ref["results"] if r["op"] == "eval"}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
            if l.startswith("model name")), "unknown CPU")
print("CPU: %s" % cpu)
tuned = cls.get("blas_tuned_kernels")
print("clstyle device: %s (driver %s); Gram matrices: %s; `clstyle tune` file: %s"
      % (cls["device"], cls.get("driver", "?"), cls.get("gram", "?"),
         "none" if not tuned else "applied to %d CLBlast kernels" % tuned))
print("PyTorch device: %s" % ref["device"])
print("%-9s %16s %16s %8s %16s" % ("size", "clstyle s/eval", "PyTorch s/eval",
                                    "ratio", "clstyle memory"))
for r in cls["results"]:
    if r["op"] != "eval":
        continue
    t = theirs[r["size"]]
    print("%-9s %16.3f %16.3f %8.2f %12.1f MiB" % ("%dx%d" % (r["size"], r["size"]), r["eval_s"],
          t["eval_s"], r["eval_s"] / t["eval_s"], r["device_bytes"] / 2**20))
    repeats, warmup = r["repeats"], r["warmup"]
print("(ratio = clstyle / PyTorch; median of %d evaluations after %d warm-up)"
      % (repeats, warmup))

# Op by op, when both sides ran the per-op report.
peak = next((r for r in cls["results"] if r["op"] == "peak"), None)
def key(r):
    return (r["op"], r.get("layer", ""), r.get("kind", ""), r["size"])
mine = {key(r): r for r in cls["results"] if "size" in r}
rows = []  # (size, label, clstyle s, PyTorch s, gflop or None)
for t in ref["results"]:
    c = mine.get(key(t))
    if c is None or t["op"] == "eval":
        continue
    size, op = t["size"], t["op"]
    if op == "conv3x3":
        n = " x%d" % t["layers"] if t["layers"] > 1 else ""
        rows.append((size, "%s fwd%s" % (t["layer"], n), c["forward_s"], t["forward_s"],
                     t["gflop"]))
        rows.append((size, "%s bwd-data%s" % (t["layer"], n), c["backward_data_s"],
                     t["backward_data_s"], t["gflop"]))
    elif op == "gram":
        rows.append((size, "Gram %s" % t["layer"], c["forward_s"], t["forward_s"], t["gflop"]))
        rows.append((size, "Gram %s grad" % t["layer"], c["backward_s"], t["backward_s"],
                     t["gflop"]))
    elif op == "loss":
        rows.append((size, "loss %s %s" % (t["kind"], t["layer"]), c["s"], t["s"], None))
    elif op == "lbfgs_overhead":
        rows.append((size, "L-BFGS own work/iter (h%d)" % t["history"], c["overhead_s"],
                     t["overhead_s"], None))
    elif op == "lbfgs_iteration":
        first = not (c.get("first_excluded", True) and t.get("first_excluded", True))
        rows.append((size, "L-BFGS iteration%s (%.1f/%.1f evals)" % (
            " (1st)" if first else "", c["evals_per_iteration"], t["evals_per_iteration"]),
            c["iteration_s"], t["iteration_s"], None))
if rows:
    if peak:
        print("\nclstyle device peak: %.1f GFLOP/s (%s)" % (peak["gflops"], peak["how"]))
    for size in sorted({r[0] for r in rows}):
        print("\n%-34s %11s %8s %11s %8s %7s" % ("op at %dx%d" % (size, size), "clstyle ms",
              "GFLOP/s", "PyTorch ms", "GFLOP/s", "ratio"))
        for s, label, mine_s, their_s, gflop in rows:
            if s != size:
                continue
            rate = lambda sec: "%8.2f" % (gflop / sec) if gflop and sec > 0 else "%8s" % "-"
            ratio = "%6.2fx" % (mine_s / their_s) if their_s > 0 and mine_s > 0 else "%7s" % "n/a"
            print("%-34s %11.2f %s %11.2f %s %s" % (label, mine_s * 1e3, rate(mine_s),
                  their_s * 1e3, rate(their_s), ratio))
    print("(ratio = clstyle time / PyTorch time; medians after warm-up; the L-BFGS iteration "
          "is after the first, whose line search takes several evaluations, unless marked 1st: "
          "the run's evaluation budget ended it; the optimiser's own work is measured minus a "
          "cheap objective's time, n/a when noise made that negative)")
PY
