#!/usr/bin/env bash
# HTTP benchmarks of `signet serve` on 127.0.0.1 (release build), load from wrk on the same
# machine: the hash-signing API (P-256, B-B), the agent (1-page PDF, RSA-2048, B-B), and, in
# the same run, `openssl speed` for the raw key-operation rates the targets refer to; then a
# batch of SIGNET_BENCH_BATCH 1-page PDFs (default 10000, 0 skips it) signed end to end with
# `signet batch` (upload, signing with a P-256 seal shown by a template, download, extract),
# every output checked with `signet verify` afterwards.
# Usage: scripts/bench-api.sh [SECONDS] [CONNECTIONS]   (defaults 10 s, 16 connections)
# Installs wrk from Debian when missing. Results go to stdout; docs/benchmarks.md keeps them.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-10}"
CONN="${2:-16}"
if ! command -v wrk >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi
[ -n "${SIGNET_BENCH_NO_BUILD:-}" ] || cargo build --release --locked -p signet-cli -q
BIN="$PWD/target/release/signet"
WORK="$(mktemp -d)"
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
ADMIN="sgk_bench.abcdefghijklmnopqrstuvwxyz234567"
SIGNET_ADMIN_TOKEN="$ADMIN" RUST_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" \
  ${SIGNET_BENCH_DATABASE_URL:+--database-url "$SIGNET_BENCH_DATABASE_URL"} 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done
json() { python3 -c "import sys,json; print(json.load(sys.stdin)$1)"; }
TENANT=$(curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d '{"name":"bench"}' "$BASE/api/v1/tenants" | json '["id"]')
KEY=$(curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d '{"name":"bench","scopes":["sign-hash","sign-document","manage"]}' "$BASE/api/v1/tenants/$TENANT/keys" | json '["token"]')
for spec in 'p256 p-256' 'rsa rsa-2048'; do
  set -- $spec
  curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$1\",\"issue\":{\"common_name\":\"Bench $1\",\"key\":\"$2\"}}" "$BASE/api/v1/identities" >/dev/null
done
BATCH="${SIGNET_BENCH_BATCH:-10000}"
# the inputs: a 1-page PDF for the agent; for the batch, a seal image and BATCH invoices
python3 - "$WORK" "$BATCH" <<'PY'
import os, struct, sys, zlib
work, n = sys.argv[1], int(sys.argv[2])
def pdf(objs):
    out = b"%PDF-1.7\n"; offs = []
    for k, o in enumerate(objs):
        offs.append(len(out)); out += b"%d 0 obj\n" % (k + 1) + o + b"\nendobj\n"
    x = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f\r\n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n\r\n" % o for o in offs)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, x)
    return out
def page(content, resources=b"<< >>", extra=()):
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources %s >>"
                % resources,
                b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content), *extra])
open(f"{work}/one-page.pdf", "wb").write(page(b"0.5 w 20 20 555 802 re S"))
if n > 0:
    # a 160x160 seal image: a red ring on transparency
    w = h = 160
    rows = bytearray()
    for y in range(h):
        rows.append(0)
        for x in range(w):
            d = ((x - 80) ** 2 + (y - 80) ** 2) ** 0.5
            rows += bytes([200, 16, 16, 255 if 62 <= d <= 76 else 0])
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(bytes(rows))) + chunk(b"IEND", b"")
    open(f"{work}/seal.png", "wb").write(png)
    os.makedirs(f"{work}/batch")
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    for i in range(n):
        text = b"BT /F1 12 Tf 72 760 Td (Invoice %d) Tj ET" % i
        doc = page(text, b"<< /Font << /F1 5 0 R >> >>", [font])
        open(f"{work}/batch/invoice-{i:05d}.pdf", "wb").write(doc)
PY
DIGEST=$(head -c 1000 /dev/urandom | openssl dgst -sha256 -binary | base64)
cat > "$WORK/signhash.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $KEY"
wrk.body = '{"identity":"p256","digest_algorithm":"sha256","digest":"$DIGEST","level":"b-b"}'
LUA
cat > "$WORK/agent.lua" <<LUA
local f = io.open("$WORK/one-page.pdf", "rb")
wrk.method = "POST"
wrk.path = "/api/v1/documents/sign?identity=rsa&level=b-b"
wrk.headers["Content-Type"] = "application/pdf"
wrk.headers["Authorization"] = "Bearer $KEY"
wrk.body = f:read("*a")
f:close()
LUA
# sanity: each request succeeds once
curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d "{\"identity\":\"p256\",\"digest_algorithm\":\"sha256\",\"digest\":\"$DIGEST\"}" "$BASE/api/v1/sign-hash" >/dev/null
curl -sf -o "$WORK/check.pdf" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/pdf' \
  --data-binary @"$WORK/one-page.pdf" "$BASE/api/v1/documents/sign?identity=rsa&level=b-b"
head -c 5 "$WORK/check.pdf" | grep -q '%PDF-' || { echo "the agent did not answer a PDF" >&2; exit 1; }

echo "== openssl speed (one core, same run)"
openssl speed -seconds 5 ecdsap256 2>/dev/null | grep -E '^ *256 bits ecdsa' | awk '{print "ecdsap256 sign/s:", $(NF-1)}'
openssl speed -seconds 5 rsa2048 2>/dev/null | grep -E '^rsa 2048 bits' | awk '{print "rsa2048 sign/s:", $(NF-1)}'
echo "== sign-hash, P-256, B-B: wrk -t1 -c$CONN -d${SECS}s"
wrk -t1 -c"$CONN" -d"${SECS}s" --latency -s "$WORK/signhash.lua" "$BASE/api/v1/sign-hash" | grep -E 'Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors'
echo "== agent, 1-page PDF, RSA-2048, B-B: wrk -t1 -c$CONN -d${SECS}s"
wrk -t1 -c"$CONN" -d"${SECS}s" --latency -s "$WORK/agent.lua" "$BASE/api/v1/documents/sign" | grep -E 'Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors'
if [ "$BATCH" -gt 0 ]; then
  IMAGE=$(curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: image/png' --data-binary @"$WORK/seal.png" \
    "$BASE/api/v1/images" | json '["id"]')
  curl -sf -X PUT -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{"placements": [{"page": 1, "rect": [400, 40, 550, 120], "image": "'"$IMAGE"'", "text": ["Bench Ltd"]}]}' \
    "$BASE/api/v1/templates/seal" >/dev/null
  echo "== batch of $BATCH 1-page PDFs, P-256 seal with a template, B-B: signet batch end to end"
  start=$(date +%s.%N)
  SIGNET_API_KEY="$KEY" "$BIN" batch "$WORK/batch" --server "$BASE" --identity p256 --template seal \
    -o "$WORK/batch-out" 2>"$WORK/batch.log" || { cat "$WORK/batch.log" >&2; exit 1; }
  end=$(date +%s.%N)
  python3 -c "import sys; print(f'end to end: {float(sys.argv[2]) - float(sys.argv[1]):.1f} s')" "$start" "$end"
  grep -E "signed|failed" "$WORK/batch.log" | tail -2 || true
  curl -sf "$BASE/ca/root.crt" -o "$WORK/root.der"
  signed=$(find "$WORK/batch-out" -name '*.pdf' | wc -l)
  bad=$(find "$WORK/batch-out" -name '*.pdf' -print0 | xargs -0 -P2 -I{} sh -c \
    '"$1" verify "$2" --trust "$3" >/dev/null 2>&1 || echo "$2"' _ "$BIN" {} "$WORK/root.der" | wc -l)
  echo "outputs: $signed (of $BATCH); failing signet verify: $bad"
fi
echo "== usage recorded"
curl -sf -H "Authorization: Bearer $KEY" "$BASE/api/v1/usage" | json '["current"]'
