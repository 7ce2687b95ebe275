"""The dashboard's structure and gaps, cached and recounted in the background when a recount is slow.

Fulfilment reads the roll-ups and is exact on every view. Structure and gaps at a date have no
roll-up: at national size a recount scans every member, enterprise and mass organisation (seconds),
so the dashboard keeps the last counted figures of each committee and date in the cache with the
data version they were counted at (``reports.rollups.data_version``, bumped by every write):

- figures of the current version are served as they are;
- figures of an older version whose recount took less than ``REPORTS_BACKGROUND_RECOUNT_SECONDS``
  are recounted while the user waits (small committees: always exact);
- otherwise the older figures are served, marked as such with the time they were counted at, and
  one recount is enqueued on the task queue (:func:`recount`; one at a time per committee and date,
  across processes when the cache is shared, e.g. Redis); the next view after it shows its result.
"""

import dataclasses
import datetime
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django_tasks import task

from config import routers
from reports import engine, rollups

logger = logging.getLogger(__name__)

#: The gaps' linked lists keep at most this many rows each (the counts above them are exact; a
#: dashboard lists the first few to act on, it is not the register).
LIST_LIMIT = 50

#: How long counted figures stay in the cache at all.
CACHE_SECONDS = 24 * 3600

#: How long a queued or running recount holds its lock at most: a recount that died (its worker
#: killed) blocks no other after this long.
LOCK_SECONDS = 300


@dataclass(frozen=True)
class Figures:
    structure: engine.StructureReport
    gaps: engine.GapsReport
    computed_at: object
    version: int
    seconds: float
    from_cache: bool = False
    stale: bool = False


def _key(organization, date):
    return f"reports:dashboard-figures:{organization.pk}:{organization.path}:{date.isoformat()}"


def count(organization, date):
    """Recount the figures of ``organization`` on ``date`` and cache them; returns :class:`Figures`."""
    version = rollups.data_version()  # read first: writes during the recount leave the result stale
    if not routers.replica_is_current():
        # Read from a standby that lags: the figures may lack writes this version counts, so they
        # are kept as of no version (served now, recounted on the next view, see the docstring).
        version = None
    started = time.perf_counter()
    # The dashboard shows the totals and the gap lists, not the committees below: the cache keeps
    # no parts (a province's 245 would be unpickled on every view, about 40 ms).
    structure = dataclasses.replace(engine.structure(organization, date), children=[])
    gaps = engine.gaps(organization, date)
    gaps = dataclasses.replace(
        gaps,
        children=[],
        eligible_enterprises=list(gaps.eligible_enterprises[:LIST_LIMIT]),
        small_enterprises=list(gaps.small_enterprises[:LIST_LIMIT]),
        stagnant_organizations=gaps.stagnant_organizations[:LIST_LIMIT],
    )
    figures = Figures(structure, gaps, timezone.now(), version, time.perf_counter() - started)
    cache.set(_key(organization, date), figures, CACHE_SECONDS)
    return figures


def _lock_key(organization, date):
    return _key(organization, date) + ":recounting"


def _recount_in_background(organization, date):
    """Enqueue one recount of ``organization`` on ``date`` unless one is queued or running already.

    The lock lives in the cache for at most ``LOCK_SECONDS`` and the task releases it when it ends,
    however it ends: a worker killed mid-recount leaves it to expire; nothing waits on it.
    """
    lock = _lock_key(organization, date)
    if not cache.add(lock, True, LOCK_SECONDS):
        return  # another request or process has one queued or running
    try:
        recount.enqueue(organization.pk, date.isoformat(), lock)
    except Exception:
        cache.delete(lock)
        logger.exception("could not enqueue the recount of %s on %s", organization.code, date)


@task()
def recount(organization_id, date, lock):
    """The background recount of the dashboard's figures (a task of the task queue; see the module)."""
    from branches.models import Organization

    try:
        # Where the dashboard's request reads: the replica when one is configured (count() keeps
        # figures read from a lagging standby as of no version).
        with routers.reading_from_replica():
            organization = Organization.objects.filter(pk=organization_id).first()
            if organization is not None:
                count(organization, datetime.date.fromisoformat(date))
    finally:
        cache.delete(lock)  # a recount that failed is tried again by the next view


def structure_and_gaps(organization, date):
    """:class:`Figures` of ``organization`` on ``date`` for the dashboard (see the module's docstring)."""
    cached = cache.get(_key(organization, date))
    if cached is None:
        return count(organization, date)
    if cached.version == rollups.data_version():
        return dataclasses.replace(cached, from_cache=True)
    if cached.seconds < settings.REPORTS_BACKGROUND_RECOUNT_SECONDS:
        return count(organization, date)
    _recount_in_background(organization, date)
    return dataclasses.replace(cached, from_cache=True, stale=True)
