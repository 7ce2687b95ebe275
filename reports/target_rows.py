"""One year's Target and TargetCarry rows of the whole tree, read once per structure version.

Every fulfilment report reads the targets of its subtree for its year, and a report at the
national root reads all of them (tens of thousands of rows: as long as the actuals themselves).
They change only through ``reports.services`` (``set_targets``, the carries of a restructuring)
and the bulk loaders, which announce it (:class:`reports.events.TargetsChanged`,
``RecordsLoaded``), and through moves and renamings of organisations, which change the paths;
every one of them bumps the structure version (:mod:`core.versions`). So each process
keeps the rows of the latest structure version per year and serves a subtree's rows from them by
bisection (a subtree's paths are contiguous in path order). A transaction that wrote reads its own
rows and keeps nothing: they may roll back.
"""

from bisect import bisect_left
from typing import NamedTuple

from core.versions import KeptPerStructureVersion
from reports.models import Target, TargetCarry


class TargetRow(NamedTuple):
    path: str
    established_on: object
    metric: str
    value: int


class CarryRow(NamedTuple):
    source: str
    successor: str
    metric: str
    on: object
    previous: int | None


#: How many subtrees' effective targets each year keeps (per process).
DERIVED_KEPT = 64


class YearTargets:
    """The target rows of one year sorted by committee path, and the year's carries."""

    def __init__(self, targets, carries):
        self.targets = sorted(targets)
        self.paths = [row.path for row in self.targets]
        self.carries = sorted(carries, key=lambda carry: carry.on)
        self._derived = {}

    def derived(self, key, compute):
        """``compute()``, kept with these rows under ``key`` (the effective targets of a subtree
        on a date are the same for every report of this structure version); the latest few kept."""
        value = self._derived.get(key)
        if value is None:
            if len(self._derived) >= DERIVED_KEPT:
                self._derived.pop(next(iter(self._derived)), None)
            value = self._derived[key] = compute()
        return value

    def in_subtrees(self, tops):
        """The target rows of the committees in the subtrees of ``tops`` (paths), in path order."""
        rows = []
        for top in sorted(set(tops)):
            if any(top.startswith(other) and top != other for other in tops):
                continue  # inside another of the subtrees: already read
            index = bisect_left(self.paths, top)
            while index < len(self.targets) and self.paths[index].startswith(top):
                rows.append(self.targets[index])
                index += 1
        return rows

    def carries_touching(self, tops):
        """The carries whose source or successor lies in one of the subtrees of ``tops``, by date."""
        tops = tuple(tops)
        return [carry for carry in self.carries if carry.source.startswith(tops) or carry.successor.startswith(tops)]


def _read(year):
    targets = (
        TargetRow(*row)
        for row in Target.objects.filter(year=year)
        .order_by()
        .values_list("committee__path", "committee__established_on", "metric", "value")
    )
    carries = (
        CarryRow(*row)
        for row in TargetCarry.objects.filter(year=year)
        .order_by()
        .values_list("source__path", "successor__path", "metric", "on", "previous")
    )
    return YearTargets(targets, carries)


_kept = KeptPerStructureVersion(16)  # year → YearTargets


def year_targets(year):
    """The :class:`YearTargets` of ``year`` as of the current structure version."""
    return _kept.get(year, lambda: _read(year))
