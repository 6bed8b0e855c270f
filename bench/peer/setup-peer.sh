#!/usr/bin/env bash
# Makes the Python environment of the PyTorch peers (torch_gatys.py, torch_ffnet.py,
# torch_train.py), so anyone's comparison runs the same PyTorch: a venv with a pinned torch
# and numpy from PyPI.
# bench/compare.sh uses it when it exists (and $TORCH_PYTHON is not set).
#
#   bench/peer/setup-peer.sh [VENV]      (default bench/peer/.venv, ignored by git)
#
# $PYTHON: the interpreter that makes the venv (default python3, 3.10 or newer).
# $TORCH_VERSION, $NUMPY_VERSION: the versions to pin (default 2.15.0, the PyTorch of the
# published comparisons, and 2.4.6, the numpy it was run with).
# $PIP_ARGS: more pip options, e.g. "--index-url https://download.pytorch.org/whl/cpu" for
# the CPU-only build (PyPI's Linux wheel also pulls the CUDA libraries, several GB).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=${1:-$here/.venv}
python=${PYTHON:-python3}
torch_version=${TORCH_VERSION:-2.15.0}
numpy_version=${NUMPY_VERSION:-2.4.6}

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --upgrade pip
# shellcheck disable=SC2086
"$venv/bin/python" -m pip install ${PIP_ARGS:-} "torch==$torch_version" "numpy==$numpy_version"
"$venv/bin/python" - <<'PY'
import numpy, torch
print("peer environment: torch %s, numpy %s, %d threads"
      % (torch.__version__, numpy.__version__, torch.get_num_threads()))
PY
echo "bench/compare.sh will use $venv/bin/python (unless \$TORCH_PYTHON is set)"
