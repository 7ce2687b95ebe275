"""The organisation tree as of a date, read from the dated states (``OrganizationVersion``).

Today's tree is the paths; an organisation without dated states (written in bulk by the demo,
the generator or an import and never restructured since) is read from today's row: its
current parent and name from its establishment to its dissolution.
"""

from dataclasses import dataclass

from branches.models import MembershipPeriod, Organization, OrganizationVersion
from core.models import TREE_STEPLEN


@dataclass
class Node:
    organization: object
    name: str
    parent_id: int | None
    depth: int = 1


def tree_as_of(organizations, on):
    """The organisations of ``organizations`` in force on ``on``, in tree order, each a
    :class:`Node` with its name and parent of that date and its depth among them (1 for those
    whose parent of that date is not among them)."""
    organizations = list(organizations.active_on(on).order_by("path"))
    ids_by_path = {organization.path: organization.pk for organization in organizations}
    states = {
        version.organization_id: version
        for version in OrganizationVersion.objects.on(on).filter(organization__in=[o.pk for o in organizations])
    }
    nodes = {}
    dated = set(
        OrganizationVersion.objects.filter(organization__in=[o.pk for o in organizations])
        .values_list("organization_id", flat=True)
        .distinct()
    )
    for organization in organizations:
        state = states.get(organization.pk)
        if state is not None:
            nodes[organization.pk] = Node(organization, state.name, state.parent_id)
        elif organization.pk not in dated:
            parent_id = ids_by_path.get(organization.path[:-TREE_STEPLEN]) if organization.depth > 1 else None
            nodes[organization.pk] = Node(organization, organization.name, parent_id)
        # dated, but no state on that day: it did not exist then
    children = {}
    for node in nodes.values():  # in path order: siblings keep today's order
        key = node.parent_id if node.parent_id in nodes else None
        children.setdefault(key, []).append(node)
    ordered = []
    stack = [(node, 1) for node in reversed(children.get(None, []))]
    while stack:
        node, depth = stack.pop()
        node.depth = depth
        ordered.append(node)
        stack.extend((child, depth + 1) for child in reversed(children.get(node.organization.pk, [])))
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
