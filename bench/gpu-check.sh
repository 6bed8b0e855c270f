#!/usr/bin/env bash
# The GPU check: on a machine with a GPU (NVIDIA, AMD or Intel) and its OpenCL driver, builds
# clstyle, lists the devices, runs `clstyle check`, the opencl suite and a CLI transfer on the
# GPU, and bench/compare.sh --eval-only against PyTorch on that GPU when a PyTorch is there,
# then prints one report (also written to --report FILE).
#
#   bench/gpu-check.sh [--device SPEC] [--build DIR] [--sizes "256 512"] [--report FILE]
#                      [--no-bench]
#
# --device: the clstyle device spec (default gpu: the first GPU; see `clstyle devices`).
# --build: the build directory (default build-gpu-check; configured with -Dbench=true).
# Every step runs even when an earlier one failed, so the report says what works; the exit
# status is 1 when any step failed. Needs no network: the build dependencies must be
# installed (tools/install-deps.sh, or the packages it names; the script stops at the build
# step naming what is missing), and the PyTorch peer is whichever of $TORCH_PYTHON,
# bench/peer/.venv/bin/python or python3 imports torch (made elsewhere with
# bench/peer/setup-peer.sh and carried over, or installed). Without torch the comparison is
# skipped and the report says so. Weights are random (make-weights): no download.
#
# On a machine lent without network, carry: this repository (with subprojects/ if it has
# any), and nothing else when Debian's build packages and the GPU's OpenCL ICD
# (/etc/OpenCL/vendors/*.icd: nvidia.icd from the NVIDIA driver, ROCm's or Mesa's for AMD,
# intel-opencl-icd for Intel) are installed there.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
device=gpu
build=$root/build-gpu-check
sizes="256 512"
report=$root/gpu-check-report.txt
bench=1
while [ $# -gt 0 ]; do
  case "$1" in
  --device) device=$2; shift 2 ;;
  --build) build=$2; shift 2 ;;
  --sizes) sizes=$2; shift 2 ;;
  --report) report=$2; shift 2 ;;
  --no-bench) bench=0; shift ;;
  -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
  *) echo "gpu-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/clstyle-gpu-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
summary=()
failed=0

# step NAME COMMAND...: runs a step, keeps its output in the report, records ok or FAIL.
step() {
  local name=$1 start rc
  shift
  echo "== $name" | tee -a "$work/report"
  start=$(date +%s)
  "$@" >"$work/out" 2>&1
  rc=$?
  tail -n 60 "$work/out" | tee -a "$work/report"
  local verdict="ok  "
  if [ "$rc" -ne 0 ]; then
    verdict="FAIL"
    failed=1
  fi
  summary+=("$verdict $name ($(($(date +%s) - start)) s)")
  echo | tee -a "$work/report"
  return "$rc"
}

environment() {
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "os: $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) threads)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total \
    --format=csv,noheader | sed 's/^/nvidia-smi: /'
  command -v rocm-smi >/dev/null && rocm-smi --showproductname 2>/dev/null | sed 's/^/rocm-smi: /'
  echo "OpenCL ICDs: $(ls /etc/OpenCL/vendors 2>/dev/null | tr '\n' ' ')"
  command -v clinfo >/dev/null && clinfo -l
  for pkg in libclblast-dev pocl-opencl-icd mesa-opencl-icd ocl-icd-libopencl1; do
    dpkg-query -W -f='${Package} ${Version}\n' "$pkg" 2>/dev/null
  done
  return 0
}

missing_tools() {
  local tool missing=()
  for tool in meson ninja cc pkg-config python3; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  for lib in OpenCL clblast libpng libjpeg libxxhash json-c libzip; do
    pkg-config --exists "$lib" 2>/dev/null || missing+=("$lib (pkg-config)")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "missing: ${missing[*]}; install them with tools/install-deps.sh (needs network) or"
    echo "carry the Debian packages it lists"
    return 1
  fi
}

build_clstyle() {
  missing_tools || return 1
  if [ ! -d "$build" ]; then
    meson setup "$build" "$root" -Dbench=true || return 1
  fi
  meson compile -C "$build"
}

transfer() {
  "$build/src/clstyle" -d "$device" -v -c "$root/examples/content.png" \
    -s "$root/examples/style.png" -m "$build/tests/vgg19-seed1-pth.bin" --size 256 \
    --iterations 20 -o "$work/transfer.png" && [ -s "$work/transfer.png" ]
}

peer_python() {
  local candidate
  for candidate in "${TORCH_PYTHON:-}" "$here/peer/.venv/bin/python" python3; do
    [ -n "$candidate" ] && "$candidate" -c 'import torch' 2>/dev/null && echo "$candidate" &&
      return 0
  done
  return 1
}

compare() {
  local python torch_device
  if ! python=$(peer_python); then
    echo "no Python with torch found (\$TORCH_PYTHON, bench/peer/.venv, python3): comparison skipped"
    return 0
  fi
  torch_device=$("$python" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')
  echo "peer: $python, torch on $torch_device"
  TORCH_PYTHON=$python CLSTYLE_BENCH_ARGS="-d $device" TORCH_ARGS="--device $torch_device" \
    "$here/compare.sh" "$build/bench/clstyle-bench" --eval-only --sizes "$sizes"
}

: >"$work/report"
step "environment" environment
if step "build ($build)" build_clstyle; then
  step "devices" "$build/src/clstyle" devices
  step "clstyle check -d $device" "$build/src/clstyle" check -d "$device"
  step "opencl suite on $device" env CLSTYLE_TEST_DEVICE="$device" \
    meson test -C "$build" --no-rebuild --suite opencl --print-errorlogs
  step "transfer at 256 on $device (20 L-BFGS iterations, random weights)" transfer
  [ "$bench" = 1 ] && step "compare with PyTorch (--eval-only, sizes $sizes)" compare
fi
{
  echo "== summary (device spec: $device)"
  printf '%s\n' "${summary[@]}"
} | tee -a "$work/report"
cp "$work/report" "$report" && echo "report: $report"
exit "$failed"
