"""The locality tree as of a date, read from the dated states (``LocalityVersion``).

Today's tree is the paths; a locality without dated states (written in bulk by the demo, the
generator or an import and never restructured since) is read from today's row: its current
parent and name, as far back as :data:`enterprises.models.LOCALITIES_RECORDED_FROM`.
"""

from dataclasses import dataclass

from core.models import TREE_STEPLEN
from enterprises.choices import LocalityChange
from enterprises.models import LOCALITIES_RECORDED_FROM, EnterpriseLocalityPeriod, Locality, LocalityVersion


@dataclass
class Node:
    locality: object
    name: str
    parent_id: int | None
    depth: int = 1


def locality_tree_as_of(localities, on):
    """The localities of ``localities`` that existed on ``on``, in tree order, each a :class:`Node`
    with its name and parent of that date and its depth among them (1 for those whose parent of
    that date is not among them). Two queries, however many restructurings."""
    versions = LocalityVersion.objects.filter(locality__in=localities.order_by().values("pk")).only(
        "locality_id", "parent_id", "name", "valid_from", "valid_to"
    )
    localities = list(localities.order_by("path"))
    ids_by_path = {locality.path: locality.pk for locality in localities}
    states, dated = {}, set()
    for version in versions:
        dated.add(version.locality_id)
        if version.valid_from <= on and (version.valid_to is None or version.valid_to > on):
            states[version.locality_id] = version
    nodes = {}
    for locality in localities:
        state = states.get(locality.pk)
        if state is not None:
            nodes[locality.pk] = Node(locality, state.name, state.parent_id)
        elif locality.pk not in dated and (locality.ended_on is None or locality.ended_on > on):
            parent_id = ids_by_path.get(locality.path[:-TREE_STEPLEN]) if locality.depth > 1 else None
            nodes[locality.pk] = Node(locality, locality.name, parent_id)
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
        stack.extend((child, depth + 1) for child in reversed(children.get(node.locality.pk, [])))
    return ordered


def locality_timeline(locality):
    """The locality's dated states, oldest first, with their parents (or, for a locality never
    restructured, the one state of today's row)."""
    versions = list(
        LocalityVersion.objects.filter(locality=locality).select_related("parent", "successor").order_by("valid_from")
    )
    if versions:
        return versions
    return [
        LocalityVersion(
            locality=locality,
            parent=Locality.objects.get_parent(locality),
            name=locality.name,
            valid_from=LOCALITIES_RECORDED_FROM,
            change=LocalityChange.ESTABLISHED,
        )
    ]


def locality_on(enterprise, date):
    """The enterprise's locality on ``date``: the former one before a merge or an abolition moved
    it (an ended ``EnterpriseLocalityPeriod``), otherwise today's (see
    ``EnterpriseQuerySet.with_locality_on`` for many enterprises in one query)."""
    period = (
        EnterpriseLocalityPeriod.objects.on(date)
        .filter(enterprise=enterprise, valid_to__isnull=False)
        .select_related("locality")
        .first()
    )
    return period.locality if period is not None else enterprise.locality
