#!/usr/bin/env bash
# run.sh BUILD_DIR SECONDS: the second OpenCL implementation, Mesa's rusticl on llvmpipe
# (mesa-opencl-icd; RUSTICL_ENABLE=llvmpipe), checked within a time bound: `clstyle check`
# (every kernel built by rusticl's compiler and a known-answer run), the opencl suite's quick
# case lists of the op tests and of training (one small step of every part), and a short
# transfer through the CLI. rusticl runs the kernels 20-75 times slower than PoCL here
# (`CLSTYLE_PROFILE=1`), so the whole-network tests, which PoCL covers, are left out. Results
# go to BUILD_DIR/meson-logs/rusticl.json (meson's test log format); exits non-zero on any
# failure or when SECONDS run out.
set -uo pipefail
if [ $# -ne 2 ] || ! [ "$2" -gt 0 ] 2>/dev/null; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$1 seconds=$2
export RUSTICL_ENABLE=llvmpipe CLSTYLE_TEST_DEVICE=llvmpipe CLSTYLE_TEST_QUICK=1
# The kernel and convolution-choice caches of this device are kept apart from PoCL's runs.
export XDG_CACHE_HOME="${XDG_CACHE_HOME:-$HOME/.cache}/rusticl"
clstyle="$build/src/clstyle"

if ! "$clstyle" devices | grep -q llvmpipe; then
  echo "rusticl: no llvmpipe device (is mesa-opencl-icd installed?)"
  exit 1
fi
start=$(date +%s)
if ! timeout "$seconds" "$clstyle" check -d llvmpipe; then
  echo "rusticl: clstyle check failed"
  exit 1
fi
left=$((seconds - ($(date +%s) - start)))
tests=(ops_conv ops_winograd ops_pool ops_gram ops_loss ops_elementwise ops_gradcheck ops_chain
  ops_ffnet ops_ffnet_backward lbfgs vec conv_select train)
timeout "$left" meson test -C "$build" --no-rebuild --logbase rusticl --print-errorlogs \
  "${tests[@]}"
rc=$?
left=$((seconds - ($(date +%s) - start)))
if [ "$rc" -eq 0 ] && [ "$left" -gt 0 ]; then
  out=$(mktemp -d)
  timeout "$left" "$clstyle" -d llvmpipe -c examples/content.png -s examples/style.png \
    -m "$build/tests/vgg19-seed1-pth.bin" --size 32 --iterations 2 -o "$out/out.png" -q
  rc=$?
  [ "$rc" -eq 0 ] && [ -s "$out/out.png" ] || { echo "rusticl: the CLI transfer failed"; rc=1; }
  rm -rf "$out"
fi
echo "rusticl: $(( $(date +%s) - start )) s"
exit "$rc"
