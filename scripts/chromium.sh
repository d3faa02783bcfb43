#!/usr/bin/env bash
# Installs Debian's chromium and chromium-driver for the browser tests (tests/test_ui.py), and
# node-typescript for the UI's JSDoc type check (tests/test_js.py).
# Idempotent: does nothing when both are already on PATH. Runs apt-get as root, or through sudo.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null && command -v tsc >/dev/null; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "scripts/chromium.sh: needs root or sudo to apt-get install chromium" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core node-typescript >/dev/null
command -v chromium && command -v chromedriver
