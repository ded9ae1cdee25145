#!/usr/bin/env bash
# Makes the end-to-end browser tests' tools available and prints the path of the Python that
# runs them (for SIGNET_TEST_E2E_PYTHON):
# - Debian's `chromium` (/usr/bin/chromium), installed with apt-get when missing. Playwright
#   launches it through `executable_path`: Playwright's own browser builds are never
#   downloaded (`playwright install` is not run).
# - a venv at ${SIGNET_E2E_VENV:-/tmp/signet-e2e-venv}, created when missing, with the PyPI
#   packages `playwright` (the Python package; its driver is inside the wheel) and `aiosmtpd`
#   (the SMTP server of the mail tests), installed when missing.
# Idempotent and quiet (apt's and pip's output goes to stderr only on failure).
# Usage: export SIGNET_TEST_E2E_PYTHON="$(scripts/e2e-tools.sh)"
#        export SIGNET_TEST_CHROMIUM=/usr/bin/chromium
set -euo pipefail
VENV="${SIGNET_E2E_VENV:-/tmp/signet-e2e-venv}"
CHROMIUM=/usr/bin/chromium
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
apt_updated=""
apt_install() {
  echo "[e2e-tools] apt-get install $*" >&2
  local log
  log="$(mktemp)"
  if [ -z "$apt_updated" ]; then
    $SUDO apt-get update -qq >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; exit 1; }
    apt_updated=1
  fi
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
}
if [ ! -x "$CHROMIUM" ]; then
  # fonts-noto-cjk: the zh-CN pages are drawn with real glyphs, not boxes, in screenshots
  apt_install chromium fonts-liberation fonts-noto-cjk
fi
PY=/usr/bin/python3
[ -x "$PY" ] || PY="$(command -v python3)"
if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  apt_install python3-venv
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "[e2e-tools] creating the venv $VENV" >&2
  "$PY" -m venv "$VENV" >&2
fi
if ! "$VENV/bin/python" -c 'import playwright.sync_api, aiosmtpd.smtp' >/dev/null 2>&1; then
  echo "[e2e-tools] pip install playwright aiosmtpd into $VENV" >&2
  log="$(mktemp)"
  if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    'playwright>=1.49,<2' 'aiosmtpd>=1.4,<2' >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
fi
echo "$VENV/bin/python"
