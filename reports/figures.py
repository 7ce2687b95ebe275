"""The dashboard's structure and gaps, counted while the user waits and cached until a write.

Fulfilment reads the roll-ups, structure and gaps the standing counts (``reports.rollups``), all
kept exact by the domain events: a recount takes a few hundred milliseconds at national size, so
the dashboard always shows what is true now. The figures of each committee and date are cached
with the data version they were counted at (``reports.rollups.data_version``, bumped by every
write): the figures of the current version are served as they are, any other is recounted.
"""

import dataclasses
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

from config import routers
from core.versions import KeptPerDataVersion
from reports import engine, rollups
from reports.dated_tree import dated_tree

#: The gaps' linked lists keep at most this many rows each (the counts above them are exact; a
#: dashboard lists the first few to act on, it is not the register).
LIST_LIMIT = 50

#: How long counted figures stay in the cache at all.
CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Figures:
    structure: engine.StructureReport
    gaps: engine.GapsReport
    computed_at: object
    version: int
    seconds: float
    from_cache: bool = False


def _key(organization, date):
    return f"reports:dashboard-figures:{organization.pk}:{organization.path}:{date.isoformat()}"


def count(organization, date):
    """Recount the figures of ``organization`` on ``date`` and cache them; returns :class:`Figures`."""
    version = rollups.data_version()  # read first: writes during the recount leave the result stale
    if not routers.replica_is_current():
        # Read from a standby that lags: the figures may lack writes this version counts, so they
        # are kept as of no version (served now, recounted on the next view).
        version = None
    started = time.perf_counter()
    # The dashboard shows the totals and the gap lists, not the committees below: the cache keeps
    # no parts (a province's 245 would be unpickled on every view, about 40 ms).
    tree = dated_tree(date)
    structure = dataclasses.replace(engine.structure(organization, date, tree=tree), children=[])
    gaps = engine.gaps(organization, date, tree=tree)
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


#: The figures each process last read from the cache, per data version: no unpickling of the
#: lists' enterprises and organisations on every view.
_kept = KeptPerDataVersion(64)


def _shared(organization, date):
    cached = cache.get(_key(organization, date))
    if cached is None:
        return count(organization, date)
    if cached.version == rollups.data_version():
        return dataclasses.replace(cached, from_cache=True)
    return count(organization, date)


def structure_and_gaps(organization, date):
    """:class:`Figures` of ``organization`` on ``date`` for the dashboard (see the module's docstring)."""
    read = []

    def shared():
        read.append(_shared(organization, date))
        return dataclasses.replace(read[0], from_cache=True)  # as the next view finds them

    kept = _kept.get(_key(organization, date), shared)
    return read[0] if read else kept
