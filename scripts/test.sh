#!/usr/bin/env bash
# Install everything the tests need, then run every test: the Rust core's (cargo), then pytest.
#   - the package with its test extra (pytest, hypothesis, pandas, pillow, selenium, psycopg ...);
#   - Debian's chromium + chromedriver for the browser tests and node-typescript for the UI's type
#     check (scripts/chromium.sh, apt-get);
#   - the Debian PostgreSQL cluster for the PostgreSQL index tests (scripts/postgres-test.sh);
#   - PyTorch, Transformers, Lightning and accelerate are installed by their tests on first use into
#     ~/.cache/turbotrack (scripts/torch-env.sh: several GB, once).
# Works from the system Python and from a virtualenv (pytest runs as `python -m pytest`, so it is the
# interpreter that has this checkout installed). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
scripts/chromium.sh >/dev/null
python -m pip install -q -e '.[test]'
if [ -z "${TURBOTRACK_TEST_POSTGRES:-}" ] && pg_url="$(scripts/postgres-test.sh 2>/dev/null | tail -n 1)"; then
    export TURBOTRACK_TEST_POSTGRES="$pg_url"
fi
cargo test --lib
python -m pytest "$@"
