#!/usr/bin/env bash
# Makes moto (an S3-compatible server in Python, PyPI `moto[server]`) available for the S3
# blob store's tests and prints the path of the Python that runs it (for SIGNET_TEST_MOTO):
# a venv at ${SIGNET_TOOLS_VENV:-/tmp/signet-tools-venv}, created when missing, with moto
# installed when missing. Idempotent and quiet (pip's output goes to stderr only on failure).
# Usage: export SIGNET_TEST_MOTO="$(scripts/moto.sh)"
set -euo pipefail
VENV="${SIGNET_TOOLS_VENV:-/tmp/signet-tools-venv}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY="$(command -v python3)"
if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "[moto] apt-get install python3-venv" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "[moto] creating the venv $VENV" >&2
  "$PY" -m venv "$VENV" >&2
fi
if ! "$VENV/bin/python" -c 'import moto.server, flask, flask_cors' >/dev/null 2>&1; then
  echo "[moto] pip install 'moto[server]' into $VENV" >&2
  log="$(mktemp)"
  if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check 'moto[server]>=5,<6' >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
fi
echo "$VENV/bin/python"
