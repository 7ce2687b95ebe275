"""What is due below a committee, counted per committee directly below it: plain functions.

The items themselves are :func:`branches.deadlines.deadlines_for`'s; this module only groups them
for department staff (the dashboard's card and ``/reports/deadlines/committees/``).
"""

import datetime
from dataclasses import dataclass

from django.urls import reverse
from django.utils.http import urlencode

from branches.deadlines import count_deadlines, deadlines_for
from branches.models import Member, Organization, Prospect
from core.scoping import scope_for
from core.versions import shared_per_data_version


@dataclass(frozen=True)
class CommitteeCount:
    """Items due (not yet overdue) and overdue in one organisation's subtree."""

    organization: Organization
    due: int
    overdue: int

    @property
    def total(self):
        return self.due + self.overdue


def visible_deadlines(organization, on, user):
    """The items of ``organization``'s subtree whose members and prospects ``user`` sees."""
    return deadlines_for(
        organization,
        on,
        members=Member.objects.visible_to(user),
        prospects=Prospect.objects.visible_to(user),
    )


def counts_below(organization, on: datetime.date, user):
    """One :class:`CommitteeCount` per organisation directly below ``organization`` (in name
    order), then one for the records held by ``organization`` itself when it has any: the items of
    :func:`visible_deadlines` counted in SQL per committee (``count_deadlines``), not built. A
    constant number of queries."""
    width = len(organization.path) + Organization.steplen
    due, overdue = count_deadlines(
        organization,
        on,
        width=width,
        members=Member.objects.visible_to(user),
        prospects=Prospect.objects.visible_to(user),
    )
    children = Organization.objects.filter(path__startswith=organization.path, depth=organization.depth + 1).order_by(
        "sort_name", "code"
    )
    rows = [CommitteeCount(child, due[child.path], overdue[child.path]) for child in children]
    own = organization.path
    if due[own] or overdue[own]:
        rows.append(CommitteeCount(organization, due[own], overdue[own]))
    return rows


def deadlines_url(organization, **params):
    """The address of ``organization``'s "due and overdue" list (``state``: ``due`` / ``overdue``)."""
    query = {"organization": organization.code, **{key: value for key, value in params.items() if value}}
    return f"{reverse('reports:deadlines')}?{urlencode(query)}"


def deadline_rows(organization, on, user, date=None):
    """:func:`counts_below` with the address of each count's list."""
    return [
        {
            "count": count,
            "due_url": deadlines_url(count.organization, state="due", date=date),
            "overdue_url": deadlines_url(count.organization, state="overdue", date=date),
            "all_url": deadlines_url(count.organization, date=date),
        }
        for count in counts_below(organization, on, user)
    ]


#: How long the dashboard's counts are reused (any change to members or organisations sooner).
COUNTS_CACHE_SECONDS = 300


def cached_deadline_rows(organization, on, user):
    """:func:`deadline_rows` for the dashboard's card, reused for a few minutes by users of the same
    scope while the records stay unchanged (the data version of ``reports.rollups``): at the top of
    a national tree the items of every committee are read once, not on every visit."""
    scope = scope_for(user)
    key = ("reports:deadline-counts", organization.pk, on.isoformat(), scope.everything, scope.read_paths)
    return shared_per_data_version(key, lambda: deadline_rows(organization, on, user), timeout=COUNTS_CACHE_SECONDS)
