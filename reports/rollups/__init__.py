"""The maintained roll-up table of the reports: events per organisation subtree, month and metric.

``Rollup(organization, month, metric, value)`` counts the events of DOMAIN.md rule 3 that
happened in ``organization`` *or anywhere below it* in that calendar month. A fulfilment report
of organisation X therefore reads the rows of X and of its children only (a few thousand rows
at the national root), instead of aggregating hundreds of thousands of raw rows.

One module per job:

* :mod:`core.versions`: the data version cached reports are keyed by;
* :mod:`~reports.rollups.subscribers`: the handlers of the domain events (``branches.events``,
  ``enterprises.events``): every service, bulk writer and loader announces what it wrote, and the
  handler adds the delta (one grouped statement per event) and bumps the data version;
* :mod:`~reports.rollups.maintain`: the deltas and subtree moves those handlers apply;
* :mod:`~reports.rollups.verify`: the full recount (:func:`rebuild`, :func:`differences`,
  ``manage.py verify_rollups``);
* :mod:`~reports.rollups.read`: the engine's actuals read from the table (the engine passes its
  raw counters in; this package never imports the engine).
"""

from core.versions import (
    DATA_VERSION_KEY,
    bump_data_version,
    bump_structure_version,
    data_version,
    structure_version,
)
from reports.rollups.maintain import apply_admissions, apply_counts
from reports.rollups.read import admissions_by_month, count_actuals
from reports.rollups.subscribers import REPORTED_MEMBER_FIELDS, connect
from reports.rollups.verify import differences, rebuild, recount_sql

__all__ = [
    "DATA_VERSION_KEY",
    "REPORTED_MEMBER_FIELDS",
    "admissions_by_month",
    "apply_admissions",
    "apply_counts",
    "bump_data_version",
    "bump_structure_version",
    "connect",
    "count_actuals",
    "data_version",
    "differences",
    "rebuild",
    "recount_sql",
    "structure_version",
]
