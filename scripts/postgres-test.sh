#!/usr/bin/env bash
# Start the Debian PostgreSQL 15 cluster and make a role and database for the tests; idempotent.
# Prints the URL for TURBOTRACK_TEST_POSTGRES on its last line. Needs root (or the postgres user).
set -euo pipefail
VERSION="${PG_VERSION:-15}"
CLUSTER="${PG_CLUSTER:-main}"
ROLE="${PG_TEST_ROLE:-turbotrack}"
PASSWORD="${PG_TEST_PASSWORD:-turbotrack}"
DB="${PG_TEST_DB:-turbotrack_test}"

if ! command -v pg_ctlcluster >/dev/null || [ ! -d "/usr/lib/postgresql/$VERSION" ]; then
    echo "PostgreSQL $VERSION is not installed (apt-get install postgresql-$VERSION)" >&2
    exit 3
fi
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
if [ ! -d "/etc/postgresql/$VERSION/$CLUSTER" ]; then
    pg_createcluster "$VERSION" "$CLUSTER" >&2
fi
# A fresh machine may lack the socket folder (tmpfs /run).
install -d -o postgres -g postgres -m 2775 /var/run/postgresql 2>/dev/null || true
if ! pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $4}' | grep -q online; then
    pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi
PORT="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $3}')"
for _ in $(seq 50); do
    as_postgres "psql -p $PORT -Atqc 'select 1'" >/dev/null 2>&1 && break
    sleep 0.2
done
as_postgres "psql -p $PORT -v ON_ERROR_STOP=1 -Atq" <<SQL >&2
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD' CREATEDB;
  END IF;
END \$\$;
SQL
if ! as_postgres "psql -p $PORT -Atqc \"select 1 from pg_database where datname = '$DB'\"" | grep -q 1; then
    as_postgres "createdb -p $PORT -O $ROLE $DB" >&2
fi
echo "postgresql://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB"
