"""On-track projection: the year-end value of each metric expected from the actual so far.

For a report of year Y up to a date D, the share of a year's total that the organisation's subtree
had reached by the same day in each of the three previous years (its profile over the year) is
averaged over those of them with a non-zero total; the projection is the actual so far divided by
that share. Without such a year (no history), or when none of them had reached anything by that
day, the projection is linear: the actual so far scaled to the whole year by days. A target is on
track when the projection reaches it.

Plain functions over the roll-up counts (``engine.count_actuals``): a fixed number of queries
whatever the size of the subtree, none while the data version stays (the totals are kept per process).
"""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from core.dates import add_years
from core.versions import KeptPerDataVersion
from reports import engine
from reports.metrics import Metric

HISTORY_YEARS = 3
PROFILE, LINEAR, COMPLETE = "profile", "linear", "complete"
ON_TRACK, AT_RISK = "on_track", "at_risk"


@dataclass
class Projection:
    """The year-end projection of one metric; ``share`` the averaged share of the year's total
    reached by that day (None for a linear projection), ``years`` the previous years it comes from."""

    metric: Metric
    actual: int
    projected: int
    method: str
    share: Decimal | None = None
    years: tuple = ()
    target: int | None = None

    @property
    def status(self):
        if self.target is None:
            return None
        return ON_TRACK if self.projected >= self.target else AT_RISK

    @property
    def label(self):
        return self.metric.label


#: Subtree totals of a period, kept per data version: a dashboard's projection reads seven
#: (this year so far, and three previous years to the same day and whole), the same until a write.
_kept_totals = KeptPerDataVersion(256)


def _count_totals(organization, start, end):
    totals = {}
    for values in engine.count_actuals(organization, start, end).values():
        for metric, value in values.items():
            totals[metric] = totals.get(metric, 0) + (value or 0)
    return totals


def _totals(organization, start, end):
    """``{metric: total}`` of ``organization``'s subtree over ``[start, end]``."""
    key = (organization.pk, organization.path, start, end)
    return dict(_kept_totals.get(key, lambda: _count_totals(organization, start, end)))


def _whole(value):
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def project(actual, day, history):
    """``(projected, method, share, years)`` of one metric.

    ``day``: the last day counted; ``history``: ``[(year, reached by the same day, year's total)]``
    of the previous years.
    """
    year_end = datetime.date(day.year, 12, 31)
    if day >= year_end:
        return actual, COMPLETE, Decimal(1), ()
    usable = [(year, Decimal(reached) / Decimal(total)) for year, reached, total in history if total]
    share = sum(share for _year, share in usable) / len(usable) if usable else Decimal(0)
    if share:
        return _whole(Decimal(actual) / share), PROFILE, share, tuple(year for year, _share in usable)
    elapsed = (day - datetime.date(day.year, 1, 1)).days + 1
    days = (year_end - datetime.date(day.year, 1, 1)).days + 1
    return _whole(Decimal(actual) * days / elapsed), LINEAR, None, ()


def year_end_projections(organization, day, metrics=None):
    """``{metric: Projection}`` of ``organization``'s subtree from 1 January to ``day``.

    Eight count queries' worth (the actual so far, then for each of the three previous years the
    count up to the same day and the year's total); none of the history once the year is over."""
    metrics = list(metrics or engine.METRICS)
    start = datetime.date(day.year, 1, 1)
    actuals = _totals(organization, start, day)
    history = {metric: [] for metric in metrics}
    if day < datetime.date(day.year, 12, 31):
        for back in range(1, HISTORY_YEARS + 1):
            year = day.year - back
            same_day = add_years(day, -back)
            reached = _totals(organization, datetime.date(year, 1, 1), same_day)
            totals = _totals(organization, datetime.date(year, 1, 1), datetime.date(year, 12, 31))
            for metric in metrics:
                history[metric].append((year, reached.get(metric, 0), totals.get(metric, 0)))
    projections = {}
    for metric in metrics:
        actual = actuals.get(metric, 0)
        projected, method, share, years = project(actual, day, history[metric])
        projections[metric] = Projection(
            metric=Metric(metric), actual=actual, projected=projected, method=method, share=share, years=years
        )
    return projections


def fulfilment_projection(report):
    """The projections of a yearly fulfilment report: one per metric with a target, with its status
    (on track or at risk); ``[]`` for a report of a range or without targets."""
    if report.year is None:
        return []
    targets = {row.metric: row.target for row in report.rows if row.target is not None}
    if not targets:
        return []
    projections = year_end_projections(report.organization, report.end, metrics=list(targets))
    for metric, projection in projections.items():
        projection.target = targets[metric]
    return [projections[metric] for metric in engine.METRICS if metric in projections]


def projection_to_dict(projection):
    return {
        "metric": str(projection.metric.value),
        "actual": projection.actual,
        "target": projection.target,
        "projected": projection.projected,
        "method": projection.method,
        "share": None if projection.share is None else float(round(projection.share, 4)),
        "years": list(projection.years),
        "status": projection.status,
    }


def backtest_mape(organization, years, month=6, day=30):
    """Mean absolute percentage error of the projection made on ``day``/``month`` of each of
    ``years`` against the actual of 31 December, over every metric with a non-zero year total
    (None when there is none). What the benchmark prints as ``projection_mape_june``."""
    errors = []
    for year in years:
        projections = year_end_projections(organization, datetime.date(year, month, day))
        totals = _totals(organization, datetime.date(year, 1, 1), datetime.date(year, 12, 31))
        for metric, projection in projections.items():
            actual = totals.get(metric, 0)
            if actual:
                errors.append(abs(Decimal(projection.projected - actual)) / Decimal(actual) * 100)
    if not errors:
        return None
    return sum(errors) / len(errors)
