#!/usr/bin/env bash
# Installs everything clstyle needs to build and run on Debian or Ubuntu, from the
# distribution's packages. --ci adds what .ci/run needs on top (clang for the OpenCL C
# syntax check and the fuzz targets; clang's runtime libraries, libFuzzer and the sanitizers,
# which clang's packages only recommend; valgrind; unshare and mount for the full-disk test;
# Mesa's OpenCL drivers).
# Uses sudo when not run as root.
set -euo pipefail

packages=(
  meson ninja-build pkg-config gcc g++ python3  # build (g++: the bridge to CLBlast's C++ API)
  ocl-icd-opencl-dev opencl-c-headers clinfo    # OpenCL ICD loader and headers
  pocl-opencl-icd                               # an OpenCL device on any CPU
  libclblast-dev                                # BLAS on OpenCL
  libpng-dev libjpeg-dev                        # images
  libxxhash-dev                                 # kernel cache keys and checksums
  libjson-c-dev libzip-dev                      # weight files: safetensors, .pth
  curl ca-certificates                          # tools/fetch-model.sh downloads the weights
)
if [ "${1:-}" = "--ci" ]; then
  # mesa-opencl-icd: a second OpenCL implementation (rusticl on llvmpipe) beside PoCL, so the
  # suites pass on a machine that has Mesa's drivers installed too.
  packages+=(clang libclang-rt-dev valgrind util-linux mount mesa-opencl-icd)
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
