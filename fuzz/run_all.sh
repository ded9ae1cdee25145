#!/usr/bin/env bash
# Runs the given targets one after another, 600 s each; logs to /tmp/fuzzlogs/<target>.<n>.log
set -u
cd "$(dirname "$0")/.."
mkdir -p /tmp/fuzzlogs
T=${FUZZ_SECONDS:-600}
for t in "$@"; do
  n=$(ls /tmp/fuzzlogs/$t.*.log 2>/dev/null | wc -l)
  log=/tmp/fuzzlogs/$t.$n.log
  dict=""
  case $t in pdf_*) dict="-dict=fuzz/pdf.dict";; esac
  echo "=== $t start $(date -u +%FT%TZ)" > "$log"
  cargo fuzz run -s none "$t" fuzz/corpus/$t -- $dict -max_total_time=$T -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -print_pcs=0 >> "$log" 2>&1
  echo "=== $t end rc=$? $(date -u +%FT%TZ)" >> "$log"
done
