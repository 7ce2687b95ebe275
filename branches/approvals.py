"""Approval of a period's figures, bottom-up, and the lock it sets (issue 15, step 5).

- An organisation's figures of a year (``half=0``) or a half-year are **submitted** by whoever
  records for it (its secretary, or department staff of it or above: ``scope.submits_figures_of``);
  an organisation with organisations below it only once every one of them active in the period
  is approved.
- The department of the committee above **approves** or **returns** them with a comment
  (``scope.approves_figures_of``: never a secretary); the root committee's department approves
  its own. Approving needs the figures submitted (the root's may be approved directly).
- An approved period **locks** the organisation's subtree: :func:`check_open` refuses a write dated
  inside it, naming the approval and who can reopen it.
- The approving level (or above) **reopens** with a reason; reopening also reopens every approval
  above that covered it (the committees' figures included the reopened ones).

Every step is saved with its history (who, when, the reason).
"""

import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from branches import events
from branches.choices import ApprovalStatus
from branches.models import Organization, PeriodApproval
from core.events import publish
from core.scoping import scope_for
from core.services import Errors, lock_for_update, save_with_history


def period_dates(year, half=0):
    if half == 1:
        return datetime.date(year, 1, 1), datetime.date(year, 6, 30)
    if half == 2:
        return datetime.date(year, 7, 1), datetime.date(year, 12, 31)
    return datetime.date(year, 1, 1), datetime.date(year, 12, 31)


def _check_period(year, half):
    errors = Errors()
    if not isinstance(year, int) or isinstance(year, bool) or not 1930 <= year <= 2200:
        errors.add("year", _("Give a year between 1930 and 2200."))
    if half not in (0, 1, 2):
        errors.add("half", _("A half-year is 1 or 2 (0: the whole year)."))
    errors.raise_if_any()


def approval_for(organization, year, half=0):
    """The organisation's approval record of the period (created open, not saved, when there is none)."""
    approval = PeriodApproval.objects.filter(organization=organization, year=year, half=half).first()
    if approval is None:
        starts_on, ends_on = period_dates(year, half)
        approval = PeriodApproval(organization=organization, year=year, half=half, starts_on=starts_on, ends_on=ends_on)
    return approval


def _children_not_approved(organization, year, half):
    starts_on, ends_on = period_dates(year, half)
    children = [
        child
        for child in Organization.objects.children_of(organization)
        if child.established_on <= ends_on and (child.dissolved_on is None or child.dissolved_on > starts_on)
    ]
    approved = set(
        PeriodApproval.objects.filter(
            organization__in=children, year=year, half=half, status=ApprovalStatus.APPROVED
        ).values_list("organization_id", flat=True)
    )
    return [child for child in children if child.pk not in approved]


def _require_children_approved(errors, organization, year, half):
    pending = _children_not_approved(organization, year, half)
    if pending:
        errors.add(
            "organization",
            _("Every organisation directly below must be approved first; not yet: %(codes)s.")
            % {"codes": ", ".join(child.code for child in pending[:10])},
        )


@transaction.atomic
def submit(acting_user, organization, *, year, half=0):
    """Submit ``organization``'s figures of the period to the level above."""
    _check_period(year, half)
    if not scope_for(acting_user).submits_figures_of(organization):
        raise PermissionDenied(_("You do not submit the figures of %(organization)s.") % {"organization": organization})
    approval = approval_for(organization, year, half)
    if approval.pk:
        approval = lock_for_update(approval)
    errors = Errors()
    if approval.status in (ApprovalStatus.SUBMITTED, ApprovalStatus.APPROVED):
        errors.add("status", _("These figures are already %(status)s.") % {"status": approval.get_status_display()})
    _require_children_approved(errors, organization, year, half)
    errors.raise_if_any()
    approval.status = ApprovalStatus.SUBMITTED
    approval.submitted_by, approval.submitted_at = acting_user, timezone.now()
    return _announced(save_with_history(approval, acting_user), year, half)


def _require_approver(acting_user, organization):
    if not scope_for(acting_user).approves_figures_of(organization):
        raise PermissionDenied(
            _("Only the organisation department of the committee above approves the figures of %(organization)s.")
            % {"organization": organization}
        )


@transaction.atomic
def approve(acting_user, organization, *, year, half=0):
    """Approve ``organization``'s submitted figures of the period (the root's may be approved directly)."""
    _check_period(year, half)
    _require_approver(acting_user, organization)
    approval = approval_for(organization, year, half)
    if approval.pk:
        approval = lock_for_update(approval)
    errors = Errors()
    is_root = organization.depth == 1
    if approval.status == ApprovalStatus.APPROVED:
        errors.add("status", _("These figures are already approved."))
    elif approval.status != ApprovalStatus.SUBMITTED and not is_root:
        errors.add("status", _("These figures have not been submitted."))
    _require_children_approved(errors, organization, year, half)
    errors.raise_if_any()
    approval.status = ApprovalStatus.APPROVED
    approval.decided_by, approval.decided_at = acting_user, timezone.now()
    approval.comment = ""
    return _announced(save_with_history(approval, acting_user), year, half)


@transaction.atomic
def return_figures(acting_user, organization, *, year, half=0, comment):
    """Return submitted figures to the organisation with a comment."""
    _check_period(year, half)
    _require_approver(acting_user, organization)
    approval = approval_for(organization, year, half)
    errors = Errors()
    comment = (comment or "").strip()
    if approval.status != ApprovalStatus.SUBMITTED:
        errors.add("status", _("Only submitted figures can be returned."))
    if not comment:
        errors.add("comment", _("Say what must be corrected."))
    errors.raise_if_any()
    approval = lock_for_update(approval)
    approval.status = ApprovalStatus.RETURNED
    approval.decided_by, approval.decided_at, approval.comment = acting_user, timezone.now(), comment
    return _announced(save_with_history(approval, acting_user), year, half)


@transaction.atomic
def reopen(acting_user, organization, *, year, half=0, reason):
    """Reopen approved figures (with a reason), and every approval above that covered them."""
    _check_period(year, half)
    _require_approver(acting_user, organization)
    approval = approval_for(organization, year, half)
    errors = Errors()
    reason = (reason or "").strip()
    if approval.status != ApprovalStatus.APPROVED:
        errors.add("status", _("Only approved figures can be reopened."))
    if not reason:
        errors.add("reason", _("Give the reason for reopening."))
    errors.raise_if_any()
    ancestors = [
        organization.path[:end] for end in range(Organization.steplen, len(organization.path), Organization.steplen)
    ]
    above = PeriodApproval.objects.select_for_update().filter(
        organization__path__in=ancestors, year=year, half=half, status=ApprovalStatus.APPROVED
    )
    reopened = []
    for item in [lock_for_update(approval), *above]:
        item.status = ApprovalStatus.OPEN
        item.comment = reason
        save_with_history(item, acting_user, reason=reason)
        reopened.append(item)
    publish(events.FiguresApprovalChanged(tuple(item.organization_id for item in reopened), year, half))
    return reopened


def _announced(approval, year, half):
    publish(events.FiguresApprovalChanged((approval.organization_id,), year, half))
    return approval


def locking_approval(organization, date):
    """The approval that locks ``date`` for ``organization`` (of it or an organisation above), or None."""
    if organization is None or date is None or not getattr(organization, "path", ""):
        return None
    prefixes = [
        organization.path[:end] for end in range(Organization.steplen, len(organization.path) + 1, Organization.steplen)
    ]
    return (
        PeriodApproval.objects.filter(
            organization__path__in=prefixes, status=ApprovalStatus.APPROVED, starts_on__lte=date, ends_on__gte=date
        )
        .select_related("organization", "decided_by__preference")
        .order_by("organization__path")
        .first()
    )


def _reopener(approval):
    above = approval.organization.path[: -Organization.steplen]
    return Organization.objects.filter(path=above).first() if above else approval.organization


def locked_message(approval, reopener=None):
    reopener = reopener or _reopener(approval)
    return _(
        "The figures of %(period)s of %(organization)s were approved on %(date)s by %(user)s: changes dated in "
        "that period are locked. The organisation department of %(reopener)s can reopen them."
    ) % {
        "period": approval.period_label,
        "organization": approval.organization,
        "date": date_format(timezone.localtime(approval.decided_at), "SHORT_DATE_FORMAT")
        if approval.decided_at
        else "—",
        "user": approval.decided_by.get_username() if approval.decided_by_id else "—",
        "reopener": reopener,
    }


def check_open(errors, organization, date, field):
    """Add the lock's message to ``errors[field]`` when an approval locks ``date`` for ``organization``."""
    approval = locking_approval(organization, date)
    if approval is not None:
        errors.add(field, locked_message(approval))


def _prefixes(path):
    return [path[:end] for end in range(Organization.steplen, len(path) + 1, Organization.steplen)]


def locking_approval_of(facts):
    """The first approval locking any of ``facts`` ``[(organization or its path, date)]``, or None.

    For a write that changes several dated facts at once (a correction moving a date, an enterprise
    passing to another committee with its mass organisations' history). One query."""
    facts = [(getattr(org, "path", org), date) for org, date in facts if org is not None and date is not None]
    facts = [(path, date) for path, date in facts if path]
    if not facts:
        return None
    prefixes = {prefix for path, _date in facts for prefix in _prefixes(path)}
    dates = [date for _path, date in facts]
    candidates = (
        PeriodApproval.objects.filter(
            organization__path__in=prefixes,
            status=ApprovalStatus.APPROVED,
            starts_on__lte=max(dates),
            ends_on__gte=min(dates),
        )
        .select_related("organization", "decided_by__preference")
        .order_by("organization__path", "starts_on")
    )
    for approval in candidates:
        for path, date in facts:
            if path.startswith(approval.organization.path) and approval.starts_on <= date <= approval.ends_on:
                return approval
    return None


def check_all_open(errors, facts, field):
    """Add the lock's message to ``errors[field]`` when an approval locks any of ``facts`` (see
    :func:`locking_approval_of`)."""
    approval = locking_approval_of(facts)
    if approval is not None:
        errors.add(field, locked_message(approval))


def check_year_open(errors, organization, year, field):
    """Add the lock's message when an approval of (part of) ``year`` covers ``organization``: its
    targets of that year are part of the approved figures."""
    check_all_open(
        errors, [(organization, datetime.date(year, 1, 1)), (organization, datetime.date(year, 12, 31))], field
    )


#: The member facts the new-admissions report reads as recorded now (form 3-BTCTW): correcting one
#: changes the report of the period of the member's admission.
ADMISSION_REPORT_FIELDS = (
    "sex",
    "date_of_birth",
    "enterprise",
    "ethnicity",
    "religion",
    "general_education",
    "professional_qualification",
    "political_theory",
    "youth_union_member_at_admission",
)


class Locks:
    """The approved periods, read once (two queries), for writers that check many rows without
    querying per row (the importers, a restructuring plan's moves): ``locks.check(errors,
    organization, date, field)``. Every approved period, or with ``organizations`` (organisations
    or paths) only those of them and the organisations above them."""

    def __init__(self, organizations=None):
        approvals = PeriodApproval.objects.filter(status=ApprovalStatus.APPROVED).select_related(
            "organization", "decided_by__preference"
        )
        if organizations is not None:
            paths = {getattr(organization, "path", organization) for organization in organizations}
            approvals = approvals.filter(
                organization__path__in={prefix for path in paths if path for prefix in _prefixes(path)}
            )
        self.approvals = list(approvals)  # by organisation path, year and half (the model's order)
        self.by_path = {}
        for approval in self.approvals:
            self.by_path.setdefault(approval.organization.path, []).append(approval)
        parents = {a.organization.path[: -Organization.steplen] for a in self.approvals} - {""}
        by_path = {o.path: o for o in Organization.objects.filter(path__in=parents)}
        self.reopeners = {
            a.pk: by_path.get(a.organization.path[: -Organization.steplen], a.organization) for a in self.approvals
        }

    def locking(self, organization, date):
        """The approval locking ``date`` for ``organization`` (an organisation or its path), or None:
        of the organisation highest above it first, as :func:`locking_approval` answers."""
        if not self.approvals or organization is None or date is None:
            return None
        for prefix in _prefixes(getattr(organization, "path", organization)):
            for approval in self.by_path.get(prefix, ()):
                if approval.starts_on <= date <= approval.ends_on:
                    return approval
        return None

    def check(self, errors, organization, date, field):
        self.check_all(errors, [(organization, date)], field)

    def check_all(self, errors, facts, field):
        """Like :func:`check_all_open`, without a query."""
        for organization, date in facts:
            approval = self.locking(organization, date)
            if approval is not None:
                errors.add(field, locked_message(approval, self.reopeners[approval.pk]))
                return


def status_below(organization, year, half=0):
    """``(rows, counts)``: the organisation and each organisation directly below it active in the
    period with its approval status (``open`` without a record), and the count per status. Three queries."""
    starts_on, ends_on = period_dates(year, half)
    children = [
        child
        for child in Organization.objects.children_of(organization)
        if child.established_on <= ends_on and (child.dissolved_on is None or child.dissolved_on > starts_on)
    ]
    records = {
        a.organization_id: a
        for a in PeriodApproval.objects.filter(
            organization__in=[organization, *children], year=year, half=half
        ).prefetch_related("submitted_by__preference", "decided_by__preference")  # users apart: never on a replica
    }
    rows = [(org, records.get(org.pk)) for org in [organization, *children]]
    counts = dict.fromkeys(ApprovalStatus.values, 0)
    for _org, record in rows[1:]:
        counts[record.status if record else ApprovalStatus.OPEN] += 1
    return rows, counts


def statuses_below(organization, children, year, half=0):
    """``{child id: {status: n}}``: the approval status of every organisation deeper in each
    child's subtree active in the period (``open`` without a record), so the dashboard's tree shows
    how far each branch of it has come. Two queries, whatever the size of the subtree."""
    starts_on, ends_on = period_dates(year, half)
    length = (organization.depth + 1) * Organization.steplen
    by_prefix = {child.path: child.pk for child in children}
    deeper = Organization.objects.filter(
        Q(dissolved_on__isnull=True) | Q(dissolved_on__gt=starts_on),
        path__startswith=organization.path,
        depth__gt=organization.depth + 1,
        established_on__lte=ends_on,
    )
    totals = dict(
        deeper.order_by()
        .annotate(child=Substr("path", 1, length))
        .values("child")
        .annotate(n=Count("pk"))
        .values_list("child", "n")
    )
    decided = (
        PeriodApproval.objects.filter(organization__in=deeper, year=year, half=half)
        .order_by()
        .annotate(child=Substr("organization__path", 1, length))
        .values("child", "status")
        .annotate(n=Count("pk"))
        .values_list("child", "status", "n")
    )
    result = {pk: dict.fromkeys(ApprovalStatus.values, 0) for pk in by_prefix.values()}
    for prefix, status, n in decided:
        if prefix in by_prefix:
            result[by_prefix[prefix]][status] += n
    for prefix, total in totals.items():
        if prefix in by_prefix:
            counts = result[by_prefix[prefix]]
            counts[ApprovalStatus.OPEN] += total - sum(n for s, n in counts.items() if s != ApprovalStatus.OPEN)
    return result
