"""What happens to enterprises, their mass organisations and membership returns (see ``core.events``).

Sent by ``enterprises.services`` after each write, by the bulk writers (``dataio.bulk``) once per
batch, and by anything else that writes these records row by row (the test factories).
"""

import datetime
from dataclasses import dataclass
from typing import NamedTuple

from core.events import Event


class MassOrganizationFacts(NamedTuple):
    """A mass organisation as the reports count it (its founding, under its enterprise's committee)."""

    mass_organization_id: int
    enterprise_id: int
    kind: str
    established_on: datetime.date

    @classmethod
    def of(cls, mass_organization):
        return cls(
            mass_organization.pk,
            mass_organization.enterprise_id,
            mass_organization.kind,
            mass_organization.established_on,
        )


class ReturnFacts(NamedTuple):
    """A membership return as the reports count it."""

    mass_organization_id: int
    date: datetime.date
    members_admitted: int

    @classmethod
    def of(cls, membership_return):
        return cls(membership_return.mass_organization_id, membership_return.date, membership_return.members_admitted)


class CommitteeChange(NamedTuple):
    enterprise_id: int
    old_committee_id: int
    new_committee_id: int


@dataclass(frozen=True)
class EnterprisesRecorded(Event):
    enterprise_ids: tuple[int, ...]


@dataclass(frozen=True)
class EnterprisesChanged(Event):
    """Facts of recorded enterprises changed (``fields``: the attribute names that changed)."""

    enterprise_ids: tuple[int, ...]
    fields: frozenset[str]


@dataclass(frozen=True)
class ManagingCommitteesChanged(Event):
    """Enterprises passed to another managing committee (their mass organisations count there now)."""

    changes: tuple[CommitteeChange, ...]


@dataclass(frozen=True)
class MassOrganizationsEstablished(Event):
    mass_organizations: tuple[MassOrganizationFacts, ...]

    @classmethod
    def of(cls, mass_organizations):
        return cls(tuple(MassOrganizationFacts.of(mass_organization) for mass_organization in mass_organizations))


@dataclass(frozen=True)
class MassOrganizationChanged(Event):
    """A mass organisation's facts changed (corrected, dissolved): ``fields`` are the attribute
    names that changed, ``before``/``after`` what the reports count of it."""

    fields: frozenset[str]
    before: MassOrganizationFacts
    after: MassOrganizationFacts


@dataclass(frozen=True)
class MembershipReturnsRecorded(Event):
    returns: tuple[ReturnFacts, ...]

    @classmethod
    def of(cls, membership_returns):
        return cls(tuple(ReturnFacts.of(membership_return) for membership_return in membership_returns))


@dataclass(frozen=True)
class MembershipReturnsCorrected(Event):
    """Returns recorded earlier now read ``after`` instead of ``before`` (a corrected date or count)."""

    before: tuple[ReturnFacts, ...]
    after: tuple[ReturnFacts, ...]


@dataclass(frozen=True)
class LocalitiesRestructured(Event):
    """Localities changed on ``on`` (``change``: a ``LocalityChange``): renamed, moved, merged into
    ``into_id`` or abolished (their localities moved up under ``into_id``). The enterprises they
    held are announced apart (``EnterprisesChanged``, field ``locality_id``)."""

    change: str
    locality_ids: tuple[int, ...]
    on: datetime.date
    into_id: int | None = None
    acting_user_id: int | None = None
