"""Throwaway PostgreSQL 15 clusters for tests/config/test_replica.py: a primary and a streaming standby.

Each server has its own data folder and its own free port on 127.0.0.1, logs every statement it
runs (``log_statement = all``) to its own file, and is stopped and removed by :meth:`Pair.stop`.
PostgreSQL refuses to run as root: when the tests run as root (as in CI) the server programs run
as the ``postgres`` OS user, in a folder that user owns (pytest's own temporary folder is private
to root, so the clusters live in a fresh folder of the system's temporary directory instead).
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVER_USER = "postgres"

#: Small, fast and verbose: a test cluster holds a few hundred rows and must start in a second.
SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
synchronous_commit = on
full_page_writes = off
shared_buffers = 16MB
max_connections = 30
log_statement = 'all'
log_line_prefix = '%m [%p] '
log_timezone = 'UTC'
log_min_messages = warning
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(args):
    """``args`` run as the postgres OS user when we are root (PostgreSQL will not run as root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *args]
    return args


def _run(args, **kwargs):
    result = subprocess.run(_as_server_user(args), capture_output=True, text=True, timeout=60, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


class Server:
    def __init__(self, root, name, port):
        self.data = root / name
        self.log = root / f"{name}.log"
        self.port = port
        self.running = False

    def url(self, database="postgres"):
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self):
        _run([str(BIN / "pg_ctl"), "start", "-w", "-t", "30", "-D", str(self.data), "-l", str(self.log),
              "-o", f"-p {self.port}"])  # fmt: skip
        self.running = True

    def stop(self):
        if self.running:
            subprocess.run(
                _as_server_user([str(BIN / "pg_ctl"), "stop", "-m", "immediate", "-w", "-D", str(self.data)]),
                capture_output=True,
                timeout=60,
            )
            self.running = False

    def connect(self):
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True)

    def query(self, sql, *params):
        with self.connect() as connection:
            cursor = connection.execute(sql, params or None)
            return cursor.fetchone()[0] if cursor.description else None

    def log_size(self):
        return self.log.stat().st_size if self.log.exists() else 0

    def log_since(self, offset):
        with open(self.log, "rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace")


class Pair:
    """A fresh primary and a standby streaming from it (``pg_basebackup -R``)."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="party-replica-"))
        self.primary = Server(self.root, "primary", free_port())
        self.standby = Server(self.root, "standby", free_port())

    def start(self):
        if os.geteuid() == 0:
            shutil.chown(self.root, SERVER_USER, SERVER_USER)
        self.root.chmod(0o700)
        _run([str(BIN / "initdb"), "-D", str(self.primary.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
              "--locale=C.UTF-8", "--no-sync", "--no-instructions"])  # fmt: skip
        with open(self.primary.data / "postgresql.conf", "a") as conf:
            conf.write(SETTINGS)
        with open(self.primary.data / "pg_hba.conf", "a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        if os.geteuid() == 0:
            for path in (self.primary.data / "postgresql.conf", self.primary.data / "pg_hba.conf"):
                shutil.chown(path, SERVER_USER, SERVER_USER)
        self.primary.start()
        _run([str(BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
              "-D", str(self.standby.data), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync"])  # fmt: skip
        self.standby.start()
        if not self.standby.query("SELECT pg_is_in_recovery()"):
            raise RuntimeError("the standby is not in recovery")
        self.wait_for_replay()

    def stop(self):
        for server in (self.standby, self.primary):
            try:
                server.stop()
            except Exception:  # noqa: BLE001 - the folder is removed in any case
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def primary_lsn(self):
        return self.primary.query("SELECT pg_current_wal_lsn()::text")

    def wait_for_replay(self, timeout=20):
        """Wait until the standby has replayed everything the primary has committed so far."""
        self._wait_until("pg_last_wal_replay_lsn", timeout)

    def wait_for_receipt(self, timeout=20):
        """Wait until the standby has received (not necessarily replayed) all of the primary's WAL."""
        self._wait_until("pg_last_wal_receive_lsn", timeout)

    def _wait_until(self, position, timeout):
        lsn = self.primary_lsn()
        deadline = time.monotonic() + timeout
        while not self.standby.query(f"SELECT {position}() >= %s::pg_lsn", lsn):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the standby's {position}() did not reach {lsn} in {timeout} s")
            time.sleep(0.02)

    def pause_replay(self, timeout=10):
        self.standby.query("SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + timeout
        while self.standby.query("SELECT pg_get_wal_replay_pause_state()") != "paused":
            if time.monotonic() > deadline:
                raise TimeoutError("the standby did not pause its replay")
            time.sleep(0.02)

    def resume_replay(self):
        self.standby.query("SELECT pg_wal_replay_resume()")
