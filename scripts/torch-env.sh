#!/usr/bin/env bash
# Make (once) the cached environment with PyTorch that the torchrun tests use, and print its python.
# PyPI's torch for Linux brings several GB of CUDA libraries, so it is installed once into
# ${TURBOTRACK_TORCH_ENV:-~/.cache/turbotrack/torch-env} and reused; the environment sees this
# machine's site-packages (numpy, turbotrack itself) through --system-site-packages.
set -euo pipefail
env_dir="${TURBOTRACK_TORCH_ENV:-$HOME/.cache/turbotrack/torch-env}"
if ! "$env_dir/bin/python" -c "import torch" >/dev/null 2>&1; then
    echo "turbotrack: installing PyTorch once into $env_dir (a few GB; later runs reuse it)" >&2
    python3 -m venv --system-site-packages "$env_dir"
    "$env_dir/bin/python" -m pip install --quiet --disable-pip-version-check torch >&2
fi
echo "$env_dir/bin/python"
