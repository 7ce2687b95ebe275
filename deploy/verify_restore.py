#!/usr/bin/env python3
"""Compare a restored database with its source: every table's row count and content checksum.

    deploy/verify_restore.py SOURCE_DATABASE_URL RESTORED_DATABASE_URL

Prints one line per table and exits 1 if any table differs. The checksum is order-independent
(the sum of a SHA-256 per row), so it streams through tables of any size without sorting.
Also used by tests/config/test_backup_restore.py, which performs the restore drill of deploy/README.md.
"""

import hashlib
import sqlite3
import sys
from urllib.parse import urlparse

MODULUS = 2**256


def list_tables(connection):
    cursor = connection.cursor()
    if isinstance(connection, sqlite3.Connection):
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    else:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    return [row[0] for row in cursor.fetchall()]


def table_fingerprint(connection, table):
    """(row count, checksum) of one table."""
    cursor = connection.cursor()
    # Table names come from the catalogue, not from users. PostgreSQL: each row's canonical text.
    if isinstance(connection, sqlite3.Connection):
        cursor.execute(f'SELECT * FROM "{table}"')
    else:
        cursor.execute(f'SELECT t::text FROM "{table}" AS t')
    count, total = 0, 0
    while rows := cursor.fetchmany(2000):
        for row in rows:
            count += 1
            total = (total + int.from_bytes(hashlib.sha256(repr(tuple(row)).encode()).digest(), "big")) % MODULUS
    return count, f"{total:064x}"


def fingerprints(connection):
    return {table: table_fingerprint(connection, table) for table in list_tables(connection)}


def differences(source, restored):
    """Human-readable lines for every table missing, extra or different in ``restored``."""
    lines = []
    for table in sorted(set(source) | set(restored)):
        if table not in restored:
            lines.append(f"{table}: missing from the restored database")
        elif table not in source:
            lines.append(f"{table}: not in the source database")
        elif source[table] != restored[table]:
            lines.append(f"{table}: {source[table][0]} rows vs {restored[table][0]} restored, checksums differ")
    return lines


def connect(url):
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return sqlite3.connect(parsed.path)
    import psycopg

    return psycopg.connect(url)


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    with connect(argv[1]) as source_connection, connect(argv[2]) as restored_connection:
        source, restored = fingerprints(source_connection), fingerprints(restored_connection)
    for table, (count, checksum) in sorted(source.items()):
        print(f"{table:50} {count:>9} {checksum[:16]}")
    problems = differences(source, restored)
    for line in problems:
        print("DIFFERENT:", line)
    print(f"{len(source)} tables compared: {'OK' if not problems else 'MISMATCH'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
