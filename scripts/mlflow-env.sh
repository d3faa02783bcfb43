#!/usr/bin/env bash
# A virtualenv of its own for the benches' peers (MLflow's tracking server and client, and s3fs for
# benches/objstore.py): never the system Python, whose pinned versions the tests need. Idempotent:
# a venv that already imports them is reused. Prints the venv's python path on the last line.
#
#   PY=$(bash scripts/mlflow-env.sh | tail -1); "$PY" -m mlflow --version
#
# TURBOTRACK_MLFLOW_VENV overrides the place (default ~/.cache/turbotrack/mlflow-venv).
set -euo pipefail

VENV="${TURBOTRACK_MLFLOW_VENV:-$HOME/.cache/turbotrack/mlflow-venv}"
PY="$VENV/bin/python"
PACKAGES=(mlflow s3fs)

if [ -x "$PY" ] && "$PY" -c "import mlflow, s3fs" >/dev/null 2>&1; then
    echo "$PY"
    exit 0
fi

BASE="${PYTHON:-python3}"
mkdir -p "$(dirname "$VENV")"
if [ ! -x "$PY" ]; then
    "$BASE" -m venv "$VENV"
fi
"$PY" -m pip install --quiet --upgrade pip >&2
"$PY" -m pip install --quiet "${PACKAGES[@]}" >&2
"$PY" -c "import mlflow, s3fs; print('mlflow', mlflow.__version__, 's3fs', s3fs.__version__)" >&2
echo "$PY"
