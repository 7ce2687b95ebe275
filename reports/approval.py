"""The approval of a report's period as the reports show it: the "approved on … by …" stamp of a
report and the status of the organisations below on the dashboard, with what the user may do.

The records and the rules are ``branches.approvals``'; the role questions are the scope's
(``submits_figures_of``, ``approves_figures_of``).
"""

from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches.approvals import period_dates, status_below, statuses_below
from branches.choices import ApprovalStatus
from branches.models import PeriodApproval
from core.scoping import scope_for

ACTIONS = {
    "submit": gettext_lazy("Submit"),
    "approve": gettext_lazy("Approve"),
    "return": gettext_lazy("Return"),
    "reopen": gettext_lazy("Reopen"),
}
#: The actions that need a comment (what to correct, why reopen).
COMMENTED_ACTIONS = frozenset(("return", "reopen"))


def period_of(start, end):
    """``(year, half)`` when ``[start, end]`` is a whole year (half 0) or a half-year, else None."""
    if start is None or end is None or start.year != end.year:
        return None
    for half in (0, 1, 2):
        if (start, end) == period_dates(start.year, half):
            return start.year, half
    return None


def approval_stamp(organization, start, end):
    """The approval of ``organization``'s figures of ``[start, end]`` when that period is a year or
    a half-year and is approved, else None. One query (none for other periods)."""
    period = period_of(start, end)
    if period is None:
        return None
    year, half = period
    return (
        PeriodApproval.objects.filter(organization=organization, year=year, half=half, status=ApprovalStatus.APPROVED)
        .prefetch_related("decided_by")  # users are read from the primary (config/routers.py), never joined
        .first()
    )


def _local_date(moment):
    return timezone.localtime(moment).date() if moment else None


def stamp_text(approval):
    """``Approved on 03/02/2025 by user`` in the active language."""
    return _("Approved on %(date)s by %(user)s") % {
        "date": date_format(_local_date(approval.decided_at), "SHORT_DATE_FORMAT") if approval.decided_at else "—",
        "user": approval.decided_by.get_username() if approval.decided_by_id else "—",
    }


def stamp_to_dict(approval):
    """The ``approval`` field of the reports' JSON (null when the period is not approved)."""
    if approval is None:
        return None
    approved_on = _local_date(approval.decided_at)
    return {
        "year": approval.year,
        "half": approval.half,
        "approved_on": approved_on.isoformat() if approved_on else None,
        "approved_by": approval.decided_by.get_username() if approval.decided_by_id else None,
        "text": stamp_text(approval),
    }


@dataclass
class StatusRow:
    organization: object
    record: object  # PeriodApproval or None (open)
    actions: list = field(default_factory=list)  # [(action, label)] the user may take
    below: list = field(default_factory=list)  # [(status, label, n)] of the organisations deeper in its subtree

    @property
    def status(self):
        return self.record.status if self.record else ApprovalStatus.OPEN

    @property
    def status_label(self):
        return ApprovalStatus(self.status).label


@dataclass
class StatusTree:
    year: int
    half: int
    organization: StatusRow
    children: list
    counts: list  # [(status, label, count)]


def actions_for(scope, organization, status, *, is_root):
    """The approval actions ``scope`` may take on ``organization``'s figures in ``status``."""
    actions = []
    if status in (ApprovalStatus.OPEN, ApprovalStatus.RETURNED) and scope.submits_figures_of(organization):
        actions.append("submit")
    if scope.approves_figures_of(organization):
        if status == ApprovalStatus.SUBMITTED or (is_root and status != ApprovalStatus.APPROVED):
            actions.append("approve")
        if status == ApprovalStatus.SUBMITTED:
            actions.append("return")
        if status == ApprovalStatus.APPROVED:
            actions.append("reopen")
    return [(action, ACTIONS[action]) for action in actions]


def status_tree(user, organization, year, half=0):
    """The approval status of ``organization`` and of each organisation directly below it active in
    the period (each links to its own tree, with how many deeper in it stand at each status), the
    count per status, and the actions ``user`` may take. Five queries."""
    scope = scope_for(user)
    rows, counts = status_below(organization, year, half)
    deeper = statuses_below(organization, [org for org, _record in rows[1:]], year, half)

    def row(org, record):
        status = record.status if record else ApprovalStatus.OPEN
        below = [(s, ApprovalStatus(s).label, n) for s, n in deeper.get(org.pk, {}).items() if n]
        return StatusRow(org, record, actions_for(scope, org, status, is_root=org.depth == 1), below)

    return StatusTree(
        year=year,
        half=half,
        organization=row(*rows[0]),
        children=[row(*item) for item in rows[1:]],
        counts=[(status, ApprovalStatus(status).label, counts[status]) for status in ApprovalStatus.values],
    )
