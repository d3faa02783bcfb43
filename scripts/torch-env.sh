#!/usr/bin/env bash
# A cached set of heavy test-only packages (PyTorch, and whatever else is named), made once and
# reused: prints the folder (site-packages) that holds them, to put on PYTHONPATH.
#
#   scripts/torch-env.sh [PACKAGE...]      # torch is always included; e.g. transformers lightning
#
# PyPI's torch for Linux brings several GB of CUDA libraries, so it is installed once into
# ${TURBOTRACK_TORCH_ENV:-~/.cache/turbotrack/torch-env}, a virtual environment made by $PYTHON
# (default python3) *without* the system's site-packages. Tests do not run that environment's
# python: they run their own interpreter (a virtualenv's or the system's, whichever has turbotrack)
# with this folder on PYTHONPATH (see tests/cached_env.py). The environment is remade when its
# Python version differs from $PYTHON's; packages missing from it are added. A lock keeps two
# callers from installing at once.
set -euo pipefail
python="${PYTHON:-python3}"
env_dir="${TURBOTRACK_TORCH_ENV:-$HOME/.cache/turbotrack/torch-env}"
packages=(torch "$@")
mkdir -p "$(dirname "$env_dir")"
exec 9>"$env_dir.lock"
flock 9

version='import sys; print("%d.%d" % sys.version_info[:2])'
want="$("$python" -c "$version")"
have="$("$env_dir/bin/python" -c "$version" 2>/dev/null || true)"
if [ "$have" != "$want" ] || grep -qs 'include-system-site-packages *= *true' "$env_dir/pyvenv.cfg"; then
    # Another Python, or an environment of the old kind (it saw the system's site-packages, so pip
    # skipped what the system had): start again.
    rm -rf "$env_dir"
    echo "turbotrack: making $env_dir with Python $want" >&2
    "$python" -m venv "$env_dir"
fi

# Which of the requested distributions are missing (names compared without version specifiers).
missing="$("$env_dir/bin/python" - "${packages[@]}" <<'EOF'
import importlib.metadata as md
import re
import sys

for spec in sys.argv[1:]:
    name = re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0]
    try:
        md.version(name)
    except md.PackageNotFoundError:
        print(spec)
EOF
)"
if [ -n "$missing" ]; then
    # shellcheck disable=SC2086  # one package per word
    echo "turbotrack: installing once into $env_dir (a few GB for torch; later runs reuse it):" $missing >&2
    # shellcheck disable=SC2086
    "$env_dir/bin/python" -m pip install --quiet --disable-pip-version-check $missing >&2
fi
"$env_dir/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))'
