#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 with a role the tests can use; print its URL.
# Starts the Debian cluster if it is installed but stopped; creates the role `dunning_test` (password
# `dunning_test`, allowed to create databases) through the local `postgres` superuser when needed.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! ready; then
  if command -v pg_lsclusters >/dev/null 2>&1; then
    read -r version cluster _ < <(pg_lsclusters -h | head -n 1) || true
    if [ -n "${version:-}" ]; then
      as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start >&2 || true
    fi
  fi
  for _ in $(seq 1 30); do ready && break; sleep 1; done
fi
ready || { echo "error: no PostgreSQL server on 127.0.0.1:5432 (install postgresql or set DUNNING_TEST_DATABASE_URL)" >&2; exit 1; }

url="postgresql+psycopg://dunning_test:dunning_test@127.0.0.1:5432/postgres"
if ! PGPASSWORD=dunning_test psql -h 127.0.0.1 -U dunning_test -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
  sql="DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='dunning_test') THEN
         CREATE ROLE dunning_test LOGIN CREATEDB PASSWORD 'dunning_test'; END IF; END\$\$;"
  if psql -h 127.0.0.1 -U postgres -d postgres -Atqc "$sql" >/dev/null 2>&1; then :
  elif [ "$(id -u)" = 0 ] && command -v runuser >/dev/null; then runuser -u postgres -- psql -Atqc "$sql" >/dev/null
  else sudo -u postgres psql -Atqc "$sql" >/dev/null; fi
fi
echo "$url"
