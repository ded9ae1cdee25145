#!/usr/bin/env bash
# Runs every test of the workspace. Installs what the tests need first (idempotent):
# the independent validators of the peer kit (pyHanko, poppler's pdfsig and pdftoppm, qpdf,
# openssl) through ../shared/peer/setup.sh. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
PEER="${SIGNET_PEER_DIR:-$(cd .. && pwd)/shared/peer}"
if [ ! -f "$PEER/setup.sh" ]; then
  echo "scripts/test.sh: the peer kit is not at $PEER (set SIGNET_PEER_DIR)" >&2
  exit 2
fi
bash "$PEER/setup.sh"
export SIGNET_PEER_DIR="$PEER"
cargo test --workspace --locked "$@"
