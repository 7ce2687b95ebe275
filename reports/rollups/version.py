"""The data version: a counter every write to the reports' sources bumps; cached reports are keyed by it."""

import os

from django.core.cache import cache
from django.db import transaction

#: The cache key of the data version.
DATA_VERSION_KEY = "reports:data-version"


def data_version():
    """The current data version (an integer); cached reports are keyed by it, so any write invalidates them."""
    version = cache.get(DATA_VERSION_KEY)
    if version is None:
        # First use, or evicted: start from a fresh random value so that no entry of before is reused.
        cache.add(DATA_VERSION_KEY, int.from_bytes(os.urandom(6), "big"), timeout=None)
        version = cache.get(DATA_VERSION_KEY)
    return version


def bump_data_version():
    """A write happened: bump now and once more after the commit (a report computed while the
    transaction was open, before its rows were visible, must not be reused afterwards)."""
    bump()
    pending = transaction.get_connection().run_on_commit
    if not any(entry[1] is bump for entry in pending):  # once per transaction, however many rows it writes
        transaction.on_commit(bump)


def uncommitted_writes():
    """Whether the current transaction wrote to the reports' sources (it bumped the data version
    and will again on commit). What is read now may roll back with it: not to be kept under the
    current version (a restructuring plan's preview runs the plan and rolls it back)."""
    connection = transaction.get_connection()
    return connection.in_atomic_block and any(entry[1] is bump for entry in connection.run_on_commit)


def bump():
    try:
        cache.incr(DATA_VERSION_KEY)
    except ValueError:  # not set yet (or evicted)
        data_version()
        cache.incr(DATA_VERSION_KEY)
