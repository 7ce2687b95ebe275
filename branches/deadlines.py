"""What is due in an organisation's subtree on a date: plain functions returning plain data.

The command ``deadlines``, the API (``GET /api/v1/deadlines/``) and the secretary's home page
render these items; none of them recomputes a rule. The dashboard counts them per committee
without building them (:func:`count_deadlines`). Each item is due within
:data:`WINDOW_DAYS` calendar days of the date or overdue, and carries its rule, its due date and
the working days left (``core.workdays``: negative once overdue).

The rules (sources in the docstrings of :mod:`branches.services` and below):

* the admission ceremony within 30 working days of the decision (Quy định 294-QĐ/TW; Hướng dẫn
  06-HD/TW);
* the review of a probationary member within 30 working days after the 12 months of probation
  (Điều lệ Đảng, Điều 5; Hướng dẫn 06-HD/TW);
* the awareness-course certificate of a prospect, valid 5 years (Hướng dẫn 06-HD/TW);
* Party badges at 30, 40, 45, …, 90 years of Party age, presented on 3 February, 19 May, 2 September
  and 7 November (Quy định 94-QĐ/TW on Party badges and its Hướng dẫn);
* an official transfer in transit: the introduction letter presented within 30 working days of its
  date (Hướng dẫn 06-HD/TW), listed for the sending and the receiving side and the committees above
  either; a temporary transfer ending (the member returns home).
"""

import datetime
from collections import Counter
from dataclasses import asdict, dataclass
from typing import NamedTuple

from django.db.models import Case, Count, Exists, OuterRef, Q, When
from django.db.models.functions import Coalesce, Substr
from django.urls import reverse
from django.utils.translation import gettext as _

from branches.choices import OPEN_PROSPECT_STAGES, MemberStatus, TransferKind, TransferStatus
from branches.models import BADGE_YEARS, BadgeAward, Member, Prospect, Transfer
from branches.services import (
    CEREMONY_WITHIN_WORKING_DAYS,
    COURSE_CERTIFICATE_YEARS,
    course_certificate_expires_on,
    probation_ends_on,
)
from core.dates import add_years
from core.workdays import ONE_DAY, calendar

#: Items due within this many calendar days of the date (and every overdue one) are listed.
WINDOW_DAYS = 60
#: The branch reviews a probationary member within 30 working days after the 12 months.
PROBATION_REVIEW_WORKING_DAYS = 30
#: (month, day) of the four presentation dates of a year.
BADGE_PRESENTATION_DAYS = ((2, 3), (5, 19), (9, 2), (11, 7))


class Kind:
    CEREMONY = "ceremony"
    PROBATION_REVIEW = "probation_review"
    COURSE_CERTIFICATE = "course_certificate"
    BADGE = "badge"
    TRANSFER_IN_TRANSIT = "transfer_in_transit"
    TEMPORARY_TRANSFER_ENDING = "temporary_transfer_ending"


def kind_choices():
    """``(kind, label)`` of every kind of item, for filters."""
    return [
        (Kind.CEREMONY, _("admission ceremony")),
        (Kind.PROBATION_REVIEW, _("probation review")),
        (Kind.COURSE_CERTIFICATE, _("course certificate expiring")),
        (Kind.BADGE, _("Party badge")),
        (Kind.TRANSFER_IN_TRANSIT, _("transfer in transit")),
        (Kind.TEMPORARY_TRANSFER_ENDING, _("temporary transfer ending")),
    ]


def _rules():
    return {
        Kind.CEREMONY: _("Admission ceremony within 30 working days of the decision (Quy định 294-QĐ/TW)"),
        Kind.PROBATION_REVIEW: _(
            "Review for recognition within 30 working days after the 12 months of probation (Điều lệ Đảng, Điều 5)"
        ),
        Kind.COURSE_CERTIFICATE: _("The awareness-course certificate is valid 5 years (Hướng dẫn 06-HD/TW)"),
        Kind.BADGE: _("Party badge for %(years)s years of Party age, presented on %(date)s"),
        Kind.TRANSFER_IN_TRANSIT: _(
            "Transfer in transit: the introduction letter is presented within 30 working days (Hướng dẫn 06-HD/TW)"
        ),
        Kind.TEMPORARY_TRANSFER_ENDING: _("Temporary transfer ending: the member returns to their organisation"),
    }


@dataclass(frozen=True)
class Deadline:
    """One item due: what, for whom, by when, and where to clear it."""

    kind: str
    rule: str
    due_on: datetime.date
    working_days_left: int
    overdue: bool
    subject: str
    subject_kind: str  # "member", "prospect" or "transfer"
    subject_id: int
    organization: str  # code
    action_url: str
    since: datetime.date  # the date the rule counts from (decision, 12-month mark, course, anniversary)

    def as_dict(self):
        data = asdict(self)
        data["due_on"] = self.due_on.isoformat()
        data["since"] = self.since.isoformat()
        return data


def presentation_dates_after(on):
    """The next badge presentation date on or after ``on``, and the one before it."""
    candidates = [
        datetime.date(year, m, d) for year in (on.year - 1, on.year, on.year + 1) for m, d in BADGE_PRESENTATION_DAYS
    ]
    candidates.sort()
    index = next(i for i, day in enumerate(candidates) if day >= on)
    return candidates[index], candidates[index - 1]


class _Code(NamedTuple):
    code: str


class _Probationary(NamedTuple):
    """What the deadlines read of a probationary member (``add`` takes it as it takes a model)."""

    pk: int
    full_name: str
    admitted_on: datetime.date
    ceremony_on: datetime.date | None
    organization: _Code


def deadlines_for(organization, on, *, members=None, prospects=None, transfers=None):
    """Items due within :data:`WINDOW_DAYS` of ``on`` or overdue, in ``organization``'s subtree.

    ``members``, ``prospects`` and ``transfers`` narrow the rows (a user's ``visible_to``); by default
    every row of the subtree (a transfer: sent from it or to it). Sorted by due date, then kind and
    name. A constant number of queries.
    """
    members, prospects = _subtree_rows(organization, members, prospects)
    working = calendar()
    horizon = on + datetime.timedelta(days=WINDOW_DAYS)
    rules = _rules()
    items = []

    def add(kind, rule, due_on, subject, subject_kind, action, since):
        items.append(
            Deadline(
                kind=kind,
                rule=rule,
                due_on=due_on,
                working_days_left=working.working_days_between(on, due_on),
                overdue=due_on < on,
                subject=subject.full_name,
                subject_kind=subject_kind,
                subject_id=subject.pk,
                organization=subject.organization.code,
                action_url=reverse(action, args=[subject.pk]),
                since=since,
            )
        )

    probationary = members.on_probation(on).values_list(
        "pk", "full_name", "admitted_on", "ceremony_on", "organization__code"
    )
    for row in probationary:
        # Read as tuples: a country's probationary members are a quarter of a million rows.
        member = _Probationary(*row[:4], organization=_Code(row[4]))
        # A ceremony not recorded: due 30 working days after the decision. One overdue by more than the
        # window is a gap in the records, not a deadline: the probation review below still shows.
        if member.ceremony_on is None:
            due = working.add_working_days(member.admitted_on, CEREMONY_WITHIN_WORKING_DAYS)
            if on - datetime.timedelta(days=WINDOW_DAYS) <= due <= horizon:
                add(
                    Kind.CEREMONY,
                    rules[Kind.CEREMONY],
                    due,
                    member,
                    "member",
                    "branches:member_ceremony",
                    member.admitted_on,
                )
        mark = probation_ends_on(admitted_on=member.admitted_on, ceremony_on=member.ceremony_on)
        due = working.add_working_days(mark, PROBATION_REVIEW_WORKING_DAYS) if mark <= horizon else None
        if due is not None and due <= horizon:
            add(
                Kind.PROBATION_REVIEW,
                rules[Kind.PROBATION_REVIEW],
                due,
                member,
                "member",
                "branches:member_recognize",
                mark,
            )
    for prospect in _expiring(prospects, horizon).select_related("organization"):
        due = course_certificate_expires_on(prospect.course_completed_on)
        add(
            Kind.COURSE_CERTIFICATE,
            rules[Kind.COURSE_CERTIFICATE],
            due,
            prospect,
            "prospect",
            "branches:prospect_edit",
            prospect.course_completed_on,
        )
    items.extend(_transfers(_listed_transfers(organization, transfers, horizon), organization, on, working, rules))
    items.extend(_badges(members, on, horizon, working, rules))
    items.sort(key=lambda item: (item.due_on, item.kind, item.subject, item.subject_id))
    return items


def _subtree_rows(organization, members, prospects):
    """The active members and the prospects of ``organization``'s subtree among ``members`` and
    ``prospects`` (every one by default)."""
    members = (members if members is not None else Member.objects.all()).filter(
        organization__path__startswith=organization.path, status=MemberStatus.ACTIVE
    )
    prospects = (prospects if prospects is not None else Prospect.objects.all()).filter(
        organization__path__startswith=organization.path
    )
    return members, prospects


def _expiring(prospects, horizon):
    """Open prospects whose awareness-course certificate expires by ``horizon`` (or has expired)."""
    return prospects.filter(
        stage__in=OPEN_PROSPECT_STAGES,
        course_completed_on__isnull=False,
        course_completed_on__lte=add_years(horizon, -COURSE_CERTIFICATE_YEARS),
    )


def _listed_transfers(organization, transfers, horizon):
    """Transfers touching ``organization``'s subtree that are listed: official ones in transit due
    by ``horizon``, temporary ones (in transit or received) ending by it."""
    transfers = (transfers if transfers is not None else Transfer.objects.all()).touching(organization)
    return transfers.filter(
        Q(kind=TransferKind.OFFICIAL, status=TransferStatus.IN_TRANSIT, due_on__lte=horizon)
        | Q(
            ~Q(kind=TransferKind.OFFICIAL),
            status__in=(TransferStatus.IN_TRANSIT, TransferStatus.RECEIVED),
            ends_on__lte=horizon,
        )
    )


def _badge_ranges(previous, presentation):
    """``[(years, Q)]``: for each badge year, the admission dates whose anniversary of that many
    years falls after the ``previous`` presentation date and by ``presentation``."""
    return [
        (years, Q(admitted_on__gt=add_years(previous, -years), admitted_on__lte=add_years(presentation, -years)))
        for years in BADGE_YEARS
    ]


def count_deadlines(organization, on, *, width, members=None, prospects=None, transfers=None):
    """:func:`deadlines_for`'s items counted, not built: ``(due, overdue)``, two ``Counter`` keyed by
    the first ``width`` characters of the path of each item's organisation (its whole path when
    shorter). The same rows and arguments as :func:`deadlines_for`, the same numbers.

    Each rule adds working days, months or years to a date of the row, so the rows whose item
    falls due before a day are those whose date is on or before one cut-off
    (:func:`_last_day_due_before`): the rules run on a few cut-offs, not on every row, and SQL
    counts the rows on each side of them per prefix. Four queries (three when no badge is presented
    within the window), and the working calendar's when it is not cached.
    """
    members, prospects = _subtree_rows(organization, members, prospects)
    working = calendar()
    horizon = on + datetime.timedelta(days=WINDOW_DAYS)
    after = horizon + ONE_DAY
    due, overdue = Counter(), Counter()

    def ceremony_due(admitted_on):
        return working.add_working_days(admitted_on, CEREMONY_WITHIN_WORKING_DAYS)

    def review_due(counted_from):
        return working.add_working_days(probation_ends_on(admitted_on=counted_from), PROBATION_REVIEW_WORKING_DAYS)

    # A ceremony not recorded, due within the window either side; a review due by the horizon,
    # counted from the ceremony (the decision when none is recorded), as deadlines_for lists them.
    ceremony = Q(
        ceremony_on__isnull=True,
        admitted_on__gt=_last_day_due_before(ceremony_due, on - datetime.timedelta(days=WINDOW_DAYS)),
        admitted_on__lte=_last_day_due_before(ceremony_due, after),
    )
    late_ceremony = ceremony & Q(admitted_on__lte=_last_day_due_before(ceremony_due, on))
    review = Q(counted_from__lte=_last_day_due_before(review_due, after))
    late_review = Q(counted_from__lte=_last_day_due_before(review_due, on))
    rows = (
        members.on_probation(on)
        .alias(counted_from=Coalesce("ceremony_on", "admitted_on"))
        .filter(ceremony | review)
        .values(prefix=Substr("organization__path", 1, width))
        .annotate(
            ceremony=Count("pk", filter=ceremony),
            late_ceremony=Count("pk", filter=late_ceremony),
            review=Count("pk", filter=review),
            late_review=Count("pk", filter=late_review),
        )
        .order_by()
    )
    for row in rows:
        late = row["late_ceremony"] + row["late_review"]
        overdue[row["prefix"]] += late
        due[row["prefix"]] += row["ceremony"] + row["review"] - late

    # Badges: presented on a date within the window, never overdue, not yet recorded.
    presentation, previous = presentation_dates_after(on)
    if presentation <= horizon:
        reaching = Q()
        for years, admitted in _badge_ranges(previous, presentation):
            reaching |= admitted & ~Exists(BadgeAward.objects.filter(member=OuterRef("pk"), years=years))
        _count_into(due, overdue, members.filter(reaching), "organization__path", width)

    late = Q(course_completed_on__lte=_last_day_due_before(course_certificate_expires_on, on))
    _count_into(due, overdue, _expiring(prospects, horizon), "organization__path", width, late=late)

    # A transfer is listed for the receiving side when it lies in the subtree, else the sending side.
    side = Case(
        When(to_organization__path__startswith=organization.path, then="to_organization__path"),
        default="from_organization__path",
    )
    late = Q(kind=TransferKind.OFFICIAL, due_on__lt=on) | (~Q(kind=TransferKind.OFFICIAL) & Q(ends_on__lt=on))
    _count_into(due, overdue, _listed_transfers(organization, transfers, horizon), side, width, late=late)
    return due, overdue


def _count_into(due, overdue, rows, path, width, late=None):
    """Add ``rows`` to ``due`` and ``overdue`` (those matching ``late``) per prefix of ``width``
    characters of ``path`` (a field or an expression)."""
    numbers = {"number": Count("pk")}
    if late is not None:
        numbers["late"] = Count("pk", filter=late)
    for row in rows.values(prefix=Substr(path, 1, width)).annotate(**numbers).order_by():
        late_number = row.get("late", 0)
        overdue[row["prefix"]] += late_number
        due[row["prefix"]] += row["number"] - late_number


def _last_day_due_before(due_on, limit):
    """The last day ``d`` with ``due_on(d) < limit``.

    ``due_on`` adds working days, months or years: it falls after its day and never goes back as the
    day advances, so the rows due before ``limit`` are exactly those whose date is ``d`` or earlier.
    """
    year = datetime.timedelta(days=366)
    low, high = limit - year, limit  # due_on(high) >= limit: it falls after high
    while due_on(low) >= limit:
        low, high = low - year, low
    while high - low > ONE_DAY:  # due_on(low) < limit <= due_on(high)
        middle = low + (high - low) // 2
        if due_on(middle) < limit:
            low = middle
        else:
            high = middle
    return low


def badge_years_reached(admitted_on, previous, presentation):
    """The badge year whose anniversary of ``admitted_on`` falls after ``previous`` and by
    ``presentation`` (one at most: badge years are five years apart or more), else None."""
    return next((y for y in BADGE_YEARS if previous < add_years(admitted_on, y) <= presentation), None)


def members_reaching_badges(members, previous, presentation):
    """``[(member, years, awarded)]``: members whose Party age reaches a badge year after the
    ``previous`` presentation date and by ``presentation``, with their award of that badge if it is
    recorded (None otherwise). Party age counts from the admission decision (interruptions of
    membership are not recorded here). Two queries."""
    reached = Q()
    for _years, admitted in _badge_ranges(previous, presentation):
        reached |= admitted
    rows = list(members.filter(reached).select_related("organization"))
    awards = {
        (award.member_id, award.years): award for award in BadgeAward.objects.filter(member__in=[m.pk for m in rows])
    }
    result = []
    for member in rows:
        years = badge_years_reached(member.admitted_on, previous, presentation)
        result.append((member, years, awards.get((member.pk, years))))
    return result


def _badges(members, on, horizon, working, rules):
    """Members reaching a badge age by the next presentation date, when that date is within the
    window, and whose badge is not recorded yet."""
    presentation, previous = presentation_dates_after(on)
    if presentation > horizon:
        return []
    items = []
    for member, years, awarded in members_reaching_badges(members, previous, presentation):
        if awarded is not None:
            continue  # presented already (or recorded ahead of the date)
        items.append(
            Deadline(
                kind=Kind.BADGE,
                rule=rules[Kind.BADGE] % {"years": years, "date": presentation.strftime("%d/%m/%Y")},
                due_on=presentation,
                working_days_left=working.working_days_between(on, presentation),
                overdue=False,
                subject=member.full_name,
                subject_kind="member",
                subject_id=member.pk,
                organization=member.organization.code,
                action_url=reverse("branches:member_badge", args=[member.pk]),
                since=add_years(member.admitted_on, years),
            )
        )
    return items


def _transfers(transfers, organization, on, working, rules):
    """Official transfers in transit (due 30 working days after the letter; the receiving side
    clears them by confirming) and temporary transfers ending within the window
    (:func:`_listed_transfers`). The member is named, nothing more: the row is all either side sees
    of the other's records."""
    items = []
    for transfer in transfers.select_related("member", "from_organization", "to_organization"):
        receiving = transfer.to_organization.path.startswith(organization.path)
        if transfer.kind == TransferKind.OFFICIAL:
            kind, due, since = Kind.TRANSFER_IN_TRANSIT, transfer.due_on, transfer.letter_date
            if receiving:
                action, side = "branches:organization_incoming", transfer.to_organization
            else:
                action, side = "branches:organization_former", transfer.from_organization
        else:
            kind, due, since = Kind.TEMPORARY_TRANSFER_ENDING, transfer.ends_on, transfer.letter_date
            side = transfer.to_organization if receiving else transfer.from_organization
            action = "branches:organization_incoming" if receiving else "branches:organization_former"
        items.append(
            Deadline(
                kind=kind,
                rule=rules[kind],
                due_on=due,
                working_days_left=working.working_days_between(on, due),
                overdue=due < on,
                subject=transfer.member.full_name,
                subject_kind="transfer",
                subject_id=transfer.pk,
                organization=side.code,
                action_url=reverse(action, args=[side.pk]),
                since=since,
            )
        )
    return items
