"""Party badges per committee: who reaches each badge age for a presentation date (plain functions;
the page, its .xlsx export and the ``badges`` command render them)."""

import datetime
from dataclasses import dataclass

from branches.choices import MemberStatus
from branches.deadlines import BADGE_PRESENTATION_DAYS, members_reaching_badges, presentation_dates_after
from branches.models import Member
from core.dates import add_years


def is_presentation_day(day):
    return (day.month, day.day) in BADGE_PRESENTATION_DAYS


def previous_presentation(presentation):
    """The presentation date before ``presentation`` (itself a presentation date)."""
    return presentation_dates_after(presentation)[1]


def upcoming_presentations(on, count=4):
    """The next ``count`` presentation dates on or after ``on``."""
    dates, day = [], on
    while len(dates) < count:
        following, _previous = presentation_dates_after(day)
        dates.append(following)
        day = following + datetime.timedelta(days=1)
    return dates


@dataclass(frozen=True)
class BadgeRow:
    member: Member
    years: int
    reached_on: datetime.date
    award: object  # the recorded BadgeAward, or None


def badge_rows(organization, presentation, members):
    """Active members of ``organization``'s subtree (among ``members``, a user's ``visible_to``)
    reaching a badge age after the previous presentation date and by ``presentation``: by badge
    (the longest Party age first), then name. Two queries."""
    members = members.filter(organization__path__startswith=organization.path, status=MemberStatus.ACTIVE)
    rows = [
        BadgeRow(member, years, add_years(member.admitted_on, years), award)
        for member, years, award in members_reaching_badges(members, previous_presentation(presentation), presentation)
    ]
    rows.sort(key=lambda row: (-row.years, row.member.sort_name, row.member.pk))
    return rows
