"""The data version: a counter every write to the reports' sources bumps; cached reports are keyed by it.

Beside it, the structure version: a counter only the writes to the structure bump (organisations,
their dated states, the enterprises' managing committees, the targets). What is derived from the
structure alone (the tree of a past date, a year's targets) is kept under it, so the admissions
and transfers that bump the data version every few seconds at national size do not discard it.
"""

import hashlib
import os
from threading import Lock

from django.core.cache import cache
from django.db import transaction

from config import routers

#: The cache key of the data version.
DATA_VERSION_KEY = "reports:data-version"
#: The cache key of the structure version.
STRUCTURE_VERSION_KEY = "reports:structure-version"


def _current(key):
    version = cache.get(key)
    if version is None:
        # First use, or evicted: start from a fresh random value so that no entry of before is reused.
        cache.add(key, int.from_bytes(os.urandom(6), "big"), timeout=None)
        version = cache.get(key)
    return version


def _increment(key):
    try:
        cache.incr(key)
    except ValueError:  # not set yet (or evicted)
        _current(key)
        cache.incr(key)


def data_version():
    """The current data version (an integer); cached reports are keyed by it, so any write invalidates them."""
    return _current(DATA_VERSION_KEY)


def structure_version():
    """The current structure version (an integer): what depends on the structure only is keyed by it."""
    return _current(STRUCTURE_VERSION_KEY)


def bump():
    _increment(DATA_VERSION_KEY)


def bump_structure():
    _increment(STRUCTURE_VERSION_KEY)


def _bump_now_and_on_commit(function):
    function()
    pending = transaction.get_connection().run_on_commit
    if not any(entry[1] is function for entry in pending):  # once per transaction, however many rows it writes
        transaction.on_commit(function)


def bump_data_version():
    """A write happened: bump now and once more after the commit (a report computed while the
    transaction was open, before its rows were visible, must not be reused afterwards)."""
    _bump_now_and_on_commit(bump)


def bump_structure_version():
    """A write to the structure happened: bump both versions, now and once more after the commit."""
    _bump_now_and_on_commit(bump)
    _bump_now_and_on_commit(bump_structure)


def uncommitted_writes():
    """Whether the current transaction wrote to the reports' sources (it bumped a version and will
    again on commit). What is read now may roll back with it: not to be kept under the current
    version (a restructuring plan's preview runs the plan and rolls it back)."""
    connection = transaction.get_connection()
    return connection.in_atomic_block and any(
        entry[1] is bump or entry[1] is bump_structure for entry in connection.run_on_commit
    )


class KeptPerVersion:
    """What a process derives from the data as of a version (``version()``: the structure's or the
    data's), kept under the version it was read at, at most ``size`` keys (the oldest goes first).

    Not kept when the current transaction wrote (what it read may roll back: a restructuring plan's
    preview) or when reads go to a standby whose replay lags (it may lack the version's writes).
    """

    def __init__(self, size, version):
        self.size = size
        self.version = version
        self._kept = {}  # key → (version, value)
        self._lock = Lock()

    def get(self, key, build):
        """The value of ``key`` for the current version, built by ``build()`` when not kept."""
        if uncommitted_writes():
            return build()
        version = self.version()
        kept = self._kept.get(key)
        if kept is not None and kept[0] == version:
            return kept[1]
        value = build()
        if routers.replica_is_current():
            with self._lock:
                self._kept.pop(key, None)
                while len(self._kept) >= self.size:
                    self._kept.pop(next(iter(self._kept)))
                self._kept[key] = (version, value)
        return value

    def clear(self):
        with self._lock:
            self._kept.clear()


class KeptPerStructureVersion(KeptPerVersion):
    """What a process derives from the structure alone (a past date's tree, a year's targets), kept
    under the structure version it was read at (see :class:`KeptPerVersion`)."""

    def __init__(self, size):
        super().__init__(size, structure_version)


class KeptPerDataVersion(KeptPerVersion):
    """What a process counts from the reports' sources (a report's figures), kept under the data
    version it was read at: the same value until any write to the sources (see
    :class:`KeptPerVersion`). For values shared by the requests of a process: never to be changed
    by who reads them."""

    def __init__(self, size):
        super().__init__(size, data_version)


def shared_per_data_version(key, build, timeout=24 * 3600):
    """``build()``'s value for ``key`` as of the current data version, shared by every process
    through the cache (a rendered part of a page, say): built once per version, not once per view.

    The version is read before ``build()`` runs, so a write during the build leaves the value
    stale at once. Not kept when the current transaction wrote or when reads go to a standby
    whose replay lags (see :class:`KeptPerVersion`). ``key`` is any ``repr``-able tuple; the
    value must pickle.
    """
    version = data_version()
    fingerprint = hashlib.sha256(repr((key, version)).encode()).hexdigest()
    cache_key = f"shared-per-data-version:{fingerprint}"
    value = cache.get(cache_key)
    if value is not None:
        return value
    value = build()
    if not uncommitted_writes() and routers.replica_is_current():
        cache.set(cache_key, value, timeout)
    return value
