#!/usr/bin/env bash
# Makes a PostgreSQL server available for the tests and prints its URL (for
# SIGNET_TEST_POSTGRES_URL): installs Debian's `postgresql` package when missing, starts its
# cluster on 127.0.0.1:5432 when stopped, and creates the role `signet` (password `signet`)
# that may create databases. Each test creates its own database and drops it at the end.
# Idempotent. Usage: export SIGNET_TEST_POSTGRES_URL="$(scripts/postgres.sh)"
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "[postgres] apt-get install postgresql" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
version="$(ls /usr/lib/postgresql | sort -V | tail -1)"
if ! pg_lsclusters -h 2>/dev/null | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
  $SUDO pg_createcluster "$version" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
  $SUDO pg_ctlcluster "$version" main start >&2
fi
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
for _ in $(seq 1 50); do
  if as_postgres psql -qAtc "SELECT 1" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
if [ "$(as_postgres psql -qAtc "SELECT 1 FROM pg_roles WHERE rolname = 'signet'")" != "1" ]; then
  as_postgres psql -qc "CREATE ROLE signet LOGIN CREATEDB PASSWORD 'signet'" >&2
fi
echo "postgres://signet:signet@127.0.0.1:5432/postgres"
