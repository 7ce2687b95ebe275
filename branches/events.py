"""What happens to organisations, members and their membership periods (see ``core.events``).

Sent by ``branches.services`` after each write, by the bulk writers (``dataio.bulk``) once per
batch, and by anything else that writes these records row by row (the test factories). Bulk
loaders that write everything at once announce ``core.events.RecordsLoaded`` instead.
"""

import datetime
from dataclasses import dataclass, field
from typing import NamedTuple

from core.events import Event


class Admission(NamedTuple):
    """An admission as the reports count it."""

    organization_id: int  # the admitting organisation (``Member.admitted_by``)
    admitted_on: datetime.date
    owner: bool  # a business owner when admitted (``Member.owner_at_admission``)

    @classmethod
    def of(cls, member):
        return cls(member.admitted_by_id, member.admitted_on, member.owner_at_admission)


class Establishment(NamedTuple):
    """An organisation's founding as the reports count it."""

    organization_id: int
    kind: str
    established_on: datetime.date

    @classmethod
    def of(cls, organization):
        return cls(organization.pk, organization.kind, organization.established_on)


class Period(NamedTuple):
    member_id: int
    organization_id: int
    on: datetime.date  # started on (opened) or ended on (closed)


@dataclass(frozen=True)
class MembersAdmitted(Event):
    """New members were admitted (one, or a whole import). ``periods``: the first membership
    periods opened with the admissions, announced here rather than by ``MembershipPeriodsOpened``
    (the reports then count a new member once, without reading back what they already know).
    ``members``: the members themselves as just written, when the writer holds them (an import),
    so that the reports count them without reading them back; not part of the event's identity."""

    admissions: tuple[Admission, ...]
    member_ids: tuple[int, ...] = ()
    periods: tuple[Period, ...] = ()
    members: tuple = field(default=(), compare=False, repr=False)

    @classmethod
    def of(cls, members, periods=(), *, carried=False):
        """``carried``: the event carries ``members`` (their fields and cached enterprise as written)."""
        return cls(
            tuple(Admission.of(member) for member in members),
            tuple(member.pk for member in members),
            tuple(periods),
            tuple(members) if carried else (),
        )


@dataclass(frozen=True)
class AdmissionsCorrected(Event):
    """Admissions recorded earlier now read ``after`` instead of ``before`` (a corrected date,
    admitting organisation or owner flag; ``after`` empty: struck out)."""

    before: tuple[Admission, ...]
    after: tuple[Admission, ...]


@dataclass(frozen=True)
class MembersChanged(Event):
    """Facts of recorded members changed: ``fields`` are the attribute names that changed
    (a correction, a recognition, a transfer, leaving the Party). ``enterprise_ids``: the
    enterprises they worked at before, when ``enterprise_id`` changed (their figures change too)."""

    member_ids: tuple[int, ...]
    fields: frozenset[str]
    enterprise_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class MembershipPeriodsOpened(Event):
    periods: tuple[Period, ...]


@dataclass(frozen=True)
class MembershipPeriodsClosed(Event):
    periods: tuple[Period, ...]


@dataclass(frozen=True)
class OrganizationsEstablished(Event):
    """Organisations were added to the tree."""

    establishments: tuple[Establishment, ...]

    @classmethod
    def of(cls, organizations):
        return cls(tuple(Establishment.of(organization) for organization in organizations))


@dataclass(frozen=True)
class OrganizationChanged(Event):
    """An organisation's facts were corrected (``fields``: the attribute names that changed);
    ``before``/``after``: its founding as the reports count it; ``enterprise_ids``: the
    enterprise it sat in before, when that changed."""

    organization_id: int
    fields: frozenset[str]
    before: Establishment
    after: Establishment
    enterprise_ids: tuple[int, ...] = ()


class PathChange(NamedTuple):
    """An organisation's path before and after it moved with its subtree."""

    organization_id: int
    old_path: str
    new_path: str


@dataclass(frozen=True)
class OrganizationsMoved(Event):
    """Organisations moved, each with its subtree, under other parents (one, or a restructuring
    plan's thousands). No move touches another's subtree or ancestors: each organisation's
    ancestors before and after are the organisations of those paths when the event is published."""

    moves: tuple[PathChange, ...]


@dataclass(frozen=True)
class OrganizationDissolved(Event):
    organization_id: int
    on: datetime.date


@dataclass(frozen=True)
class OrganizationsMerged(Event):
    """Organisations ended on ``on`` merged into ``into_id`` (their organisations and members
    moved there): the reports carry their targets of that year to it."""

    source_ids: tuple[int, ...]
    into_id: int
    on: datetime.date
    acting_user_id: int | None = None


@dataclass(frozen=True)
class OrganizationSplit(Event):
    """An organisation ended on ``on`` split into successors: ``shares`` are ``(successor id,
    share)`` pairs, the share of its targets of that year each carries (adding up to 1)."""

    source_id: int
    shares: tuple[tuple[int, object], ...]
    on: datetime.date
    acting_user_id: int | None = None


@dataclass(frozen=True)
class MembershipPeriodsReopened(Event):
    """Periods closed by mistake are open again (a transfer cancelled in transit, a leaving undone):
    ``periods`` give the end date struck out."""

    periods: tuple[Period, ...]


@dataclass(frozen=True)
class MembershipPeriodsCorrected(Event):
    """Periods now start on another day (an admission's corrected date moves the first period)."""

    before: tuple[Period, ...]
    after: tuple[Period, ...]


@dataclass(frozen=True)
class TransferChanged(Event):
    """A transfer of Party activity was issued, received, redirected, cancelled or ended."""

    transfer_id: int
    member_id: int
    status: str


@dataclass(frozen=True)
class FiguresApprovalChanged(Event):
    """The figures of an organisation for a period were submitted, approved, returned or reopened
    (``organization_ids``: whose approval records changed)."""

    organization_ids: tuple[int, ...]
    year: int
    half: int
