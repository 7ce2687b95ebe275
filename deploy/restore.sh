#!/bin/sh
# Restore a dump made by backup.sh into an EMPTY database (create it first with createdb).
#   deploy/restore.sh DUMP_FILE TARGET_DATABASE_URL
set -eu
dump="${1:?dump file}"
target="${2:?target database URL}"
pg_restore --exit-on-error --no-owner --no-privileges --single-transaction --dbname="$target" "$dump"
