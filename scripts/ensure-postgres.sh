#!/usr/bin/env bash
# Start the PostgreSQL cluster on 127.0.0.1:5432 if it is not running (the hub tests need it).
# Fails loudly when it cannot: the PostgreSQL tests must never be skipped in silence.
set -euo pipefail
if pg_isready -q -h 127.0.0.1 -p 5432; then
    exit 0
fi
version="$(ls /etc/postgresql | sort -V | tail -n 1)"
pg_ctlcluster --skip-systemctl-redirect "$version" main start
for _ in $(seq 1 50); do
    pg_isready -q -h 127.0.0.1 -p 5432 && exit 0
    sleep 0.2
done
echo "ensure-postgres: PostgreSQL $version did not come up on 127.0.0.1:5432" >&2
exit 1
