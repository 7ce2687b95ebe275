"""The organisation tree as of a date, read from the dated states (``OrganizationVersion``).

Today's tree is the paths; an organisation without dated states (written in bulk by the demo,
the generator or an import and never restructured since) is read from today's row: its
current parent and name from its establishment to its dissolution.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db.models import BooleanField, ExpressionWrapper, FilteredRelation, Q

from branches.models import MembershipPeriod, Organization, OrganizationVersion
from core.models import TREE_STEPLEN, in_force_on
from core.versions import KeptPerStructureVersion


@dataclass
class Node:
    organization: object
    name: str
    parent_id: int | None
    depth: int = 1


class DatedNodes(Sequence):
    """The nodes of the tree as of a date, in tree order: the organisations themselves are read
    only for the nodes asked for (a page of them), the order from light rows of all."""

    def __init__(self, organizations, rows):
        self._organizations = organizations
        self._rows = rows  # [(organisation id, name then or None when today's, parent id then, depth)]

    def __len__(self):
        return len(self._rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._nodes(self._rows[index])
        return self._nodes([self._rows[index]])[0]

    def __iter__(self):
        for start in range(0, len(self._rows), READ_AT_ONCE):
            yield from self[start : start + READ_AT_ONCE]

    def _nodes(self, rows):
        organizations = self._organizations.in_bulk([pk for pk, *_rest in rows])
        return [
            Node(organizations[pk], organizations[pk].name if name is None else name, parent_id, depth)
            for pk, name, parent_id, depth in rows
        ]


#: How many organisations are read in one query when every node is asked for.
READ_AT_ONCE = 2000


#: The order of the trees of past dates, per date and set of organisations (a user's scope).
_orders = KeptPerStructureVersion(16)


def tree_as_of(organizations, on):
    """The organisations of ``organizations`` in force on ``on``, in tree order (a
    :class:`DatedNodes`), each a :class:`Node` with its name and parent of that date and its depth
    among them (1 for those whose parent of that date is not among them). One query for the
    order, whatever the size of the tree, and one per page of nodes read. The order is kept per
    structure version: only a change of the structure reads it again."""
    try:
        sql, params = organizations.order_by().query.sql_with_params()
    except EmptyResultSet:  # a scope that holds nothing
        return DatedNodes(organizations, [])
    ordered = _orders.get((on, sql, tuple(params)), lambda: _order_on(organizations, on))
    return DatedNodes(organizations, ordered)


def _order_on(organizations, on):
    """``[(organisation id, name then or None when today's, parent id then, depth)]`` in tree order
    (:func:`tree_as_of`)."""
    state = FilteredRelation(
        "versions", condition=in_force_on(on, start="versions__valid_from", end="versions__valid_to")
    )
    dated = ExpressionWrapper(Q(pk__in=OrganizationVersion.objects.values("organization_id")), BooleanField())
    rows = list(
        organizations.active_on(on)
        .annotate(state=state, dated=dated)
        .order_by("path")
        .values_list("pk", "path", "depth", "state__name", "state__parent_id", "dated")
    )
    ids_by_path = {row[1]: row[0] for row in rows}
    nodes = {}
    for pk, path, depth, name_then, parent_then, dated in rows:
        if name_then is not None:
            nodes[pk] = (name_then, parent_then)
        elif not dated:  # today's name, read with the organisation
            nodes[pk] = (None, ids_by_path.get(path[:-TREE_STEPLEN]) if depth > 1 else None)
        # dated, but no state on that day: it did not exist then
    children = {}
    for pk, (_name, parent_id) in nodes.items():  # in path order: siblings keep today's order
        children.setdefault(parent_id if parent_id in nodes else None, []).append(pk)
    ordered = []
    stack = [(pk, 1) for pk in reversed(children.get(None, []))]
    while stack:
        pk, depth = stack.pop()
        name, parent_id = nodes[pk]
        ordered.append((pk, name, parent_id, depth))
        below = children.get(pk)
        if below:
            stack.extend([(child, depth + 1) for child in reversed(below)])
    return ordered


def timeline(organization):
    """The organisation's dated states, oldest first, with their parents (or, for an organisation
    never restructured, the one state of today's row)."""
    versions = list(
        OrganizationVersion.objects.filter(organization=organization)
        .select_related("parent", "successor")
        .order_by("valid_from")
    )
    if versions:
        return versions
    return [
        OrganizationVersion(
            organization=organization,
            parent=type(organization).objects.get_parent(organization),
            name=organization.name,
            valid_from=organization.established_on,
            valid_to=organization.dissolved_on,
            change="established",
            end_change="dissolved" if organization.dissolved_on else "",
        )
    ]


@dataclass
class Affected:
    organization: object
    organizations_below: int
    members: int


def affected_by(organizations):
    """What a restructuring of ``organizations`` reaches: for each, the organisations in force below
    it and the members whose membership is open in its subtree (two queries per organisation: an
    administrator selects a handful)."""
    affected = []
    for organization in organizations:
        below = Organization.objects.filter(path__startswith=organization.path, dissolved_on__isnull=True).exclude(
            pk=organization.pk
        )
        members = MembershipPeriod.objects.filter(
            organization__path__startswith=organization.path, ended_on__isnull=True
        )
        affected.append(Affected(organization, below.count(), members.count()))
    return affected
