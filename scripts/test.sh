#!/usr/bin/env bash
# Runs every test of the workspace. Installs what the tests need first (idempotent):
# the independent validators of the peer kit (pyHanko, poppler's pdfsig and pdftoppm, qpdf,
# openssl) through ../shared/peer/setup.sh, a PostgreSQL server through
# scripts/postgres.sh (the store's tests run on SQLite and on PostgreSQL), and moto, the
# S3-compatible server of the S3 blob store's tests, through scripts/moto.sh, and the browser
# and mail tests' tools (Debian's chromium, Playwright and aiosmtpd in a venv) through
# scripts/e2e-tools.sh. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
PEER="${SIGNET_PEER_DIR:-$(cd .. && pwd)/shared/peer}"
if [ ! -f "$PEER/setup.sh" ]; then
  echo "scripts/test.sh: the peer kit is not at $PEER (set SIGNET_PEER_DIR)" >&2
  exit 2
fi
bash "$PEER/setup.sh"
export SIGNET_PEER_DIR="$PEER"
if [ -z "${SIGNET_TEST_POSTGRES_URL:-}" ]; then
  SIGNET_TEST_POSTGRES_URL="$(scripts/postgres.sh)"
  export SIGNET_TEST_POSTGRES_URL
fi
if [ -z "${SIGNET_TEST_MOTO:-}" ]; then
  SIGNET_TEST_MOTO="$(scripts/moto.sh)"
  export SIGNET_TEST_MOTO
fi
# the browser tests (Playwright on Debian's chromium) and the mail tests (aiosmtpd)
if [ -z "${SIGNET_TEST_E2E_PYTHON:-}" ]; then
  SIGNET_TEST_E2E_PYTHON="$(scripts/e2e-tools.sh)"
  export SIGNET_TEST_E2E_PYTHON
fi
export SIGNET_TEST_CHROMIUM="${SIGNET_TEST_CHROMIUM:-/usr/bin/chromium}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# The build first, without a line per compiled crate and with long lines (the linker's command
# line runs to thousands of characters) cut, so that a build failure's cause stays readable in a
# CI log; the disk's free space is printed with it (a full disk fails at the link).
build=0
cargo test --workspace --locked --no-run "$@" 2>&1 | { grep -v '^ *Compiling ' || true; } | cut -c1-600 || build=$?
if [ "$build" -ne 0 ]; then
  df -h . | sed 's/^/disk: /' >&2
  echo "tests: the test build failed (exit $build)" >&2
  exit "$build"
fi
status=0
cargo test --workspace --locked --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?
# one closing line over every test binary (cargo prints one line per binary)
passed=$(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\2/p' "$log" | awk '{s+=$1} END {print s+0}')
echo "tests: $passed passed, $failed failed"
exit "$status"
