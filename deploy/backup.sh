#!/bin/sh
# Back up the database: a compressed custom-format dump (pg_restore can restore it selectively).
#   deploy/backup.sh [DATABASE_URL] [OUTPUT_FILE]
# Defaults: $DATABASE_URL, /var/backups/party/party-YYYYmmdd-HHMMSS.dump
set -eu
url="${1:-${DATABASE_URL:?DATABASE_URL is not set}}"
out="${2:-/var/backups/party/party-$(date +%Y%m%d-%H%M%S).dump}"
mkdir -p "$(dirname "$out")"
umask 077  # the dump holds sensitive personal data: readable by its owner only
pg_dump --format=custom --compress=6 --no-owner --no-privileges --file="$out.partial" "$url"
mv "$out.partial" "$out"
echo "$out"
