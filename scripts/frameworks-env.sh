#!/usr/bin/env bash
# Make (once) the cached environment with PyTorch, HF Transformers, PyTorch Lightning and accelerate that
# tests/test_frameworks.py uses, and print its site-packages folder.
#
# The environment lives in ${TURBOTRACK_FRAMEWORKS_ENV:-~/.cache/turbotrack/frameworks-env} and is reused.
# It is a plain virtualenv of this Python version: the tests do not run its python, they run the
# current interpreter (so turbotrack comes from the environment under test, even a fresh virtualenv)
# with this folder appended to PYTHONPATH. torch comes from the CPU-only index when that is reachable
# (a few hundred MB), else from PyPI (several GB with the CUDA libraries).
set -euo pipefail
py="${PYTHON:-python3}"
env_dir="${TURBOTRACK_FRAMEWORKS_ENV:-$HOME/.cache/turbotrack/frameworks-env}"
packages=(transformers lightning accelerate)
site() { "$env_dir/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])"; }
if ! "$env_dir/bin/python" -c "import torch, transformers, lightning, accelerate" >/dev/null 2>&1; then
    echo "turbotrack: installing torch, ${packages[*]} once into $env_dir (a few GB; later runs reuse it)" >&2
    # The base interpreter, not a virtualenv's, so the cache does not depend on the virtualenv that made it.
    base="$("$py" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')"
    "$base" -m venv "$env_dir"
    pip=("$env_dir/bin/python" -m pip install --quiet --disable-pip-version-check)
    if ! "$env_dir/bin/python" -c "import torch" >/dev/null 2>&1; then
        "${pip[@]}" --index-url https://download.pytorch.org/whl/cpu torch >&2 2>/dev/null || "${pip[@]}" torch >&2
    fi
    "${pip[@]}" "${packages[@]}" >&2
fi
site
