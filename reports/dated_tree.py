"""The organisation tree on a report's date, seen through today's paths (issue 13).

Today's tree is the materialised paths; the tree on an earlier date differs from it only for the
organisations restructured since (a dated state beginning after that date). :class:`DatedTree`
reads the states of those organisations in one query and answers, for any of today's paths,
where it stood on the date: its parent then, its name then, the organisation directly below a
report's organisation it counts for. Organisations never restructured (bulk-written, or changed
only before the date) are read from today's paths.

The engine maps its per-organisation counts onto this tree in Python, so the number of queries
of a report does not depend on the number of restructurings.
"""

from django.db.models import Q

from branches.models import OrganizationVersion
from core.models import TREE_STEPLEN
from enterprises.models import ManagingCommitteePeriod

_ROOT = ""


def _today_parent(path):
    return path[:-TREE_STEPLEN]


class DatedTree:
    """The tree on ``on`` (None: today's tree, no query).

    ``moved`` maps the path of each organisation whose parent on ``on`` differs from today's to
    the path of that parent (``""`` for a root); ``names`` its name on ``on`` when it differs;
    ``ids`` the organisation id of each of those paths. An organisation that did not exist on
    ``on`` stands where its nearest state puts it: its last one when it ended before, its first
    when it began after; one merged by then counts as part of its successor (``merged``).

    ``enterprises`` maps each enterprise managed on ``on`` by another committee than today's
    (it passed to today's in a restructuring since) to the paths of today's committee and of that
    one: the engine moves its figures from the first to the second.
    """

    def __init__(self, on=None):
        self.on = on
        self.moved = {}
        self.names = {}
        self.ids = {}
        self.merged = set()  # paths of organisations merged into another by ``on``
        self.enterprises = {}
        if on is None:
            return
        for enterprise_id, today_path, path in (
            ManagingCommitteePeriod.objects.on(on)
            .filter(enterprise_id__in=self.enterprises_changed_since(on))
            .values_list("enterprise_id", "enterprise__managing_committee__path", "committee__path")
        ):
            if path != today_path:
                self.enterprises[enterprise_id] = (today_path, path)
        restructured = OrganizationVersion.objects.filter(
            Q(valid_from__gt=on) | Q(successor__isnull=False, valid_to__lte=on)
        ).values("organization_id")
        states = (
            OrganizationVersion.objects.filter(organization_id__in=restructured)
            .order_by("organization_id", "valid_from")
            .values_list(
                "organization_id",
                "organization__path",
                "organization__name",
                "parent__path",
                "name",
                "valid_from",
                "valid_to",
                "successor__path",
            )
        )
        chosen = {}
        for organization_id, path, today_name, parent_path, name, valid_from, valid_to, successor in states:
            # states come oldest first: keep the latest begun by ``on``, else the first one
            if organization_id not in chosen or valid_from <= on:
                merged = successor is not None and valid_to is not None and valid_to <= on
                chosen[organization_id] = (path, today_name, successor if merged else parent_path or _ROOT, name)
                if merged:
                    self.merged.add(path)
                else:
                    self.merged.discard(path)
        for organization_id, (path, today_name, parent_path, name) in chosen.items():
            self.ids[path] = organization_id
            if parent_path != _today_parent(path):
                self.moved[path] = parent_path
            if name != today_name:
                self.names[path] = name

    @staticmethod
    def enterprises_changed_since(on):
        """A subquery of the ids of the enterprises that passed to another committee after ``on``."""
        return ManagingCommitteePeriod.objects.filter(valid_from__gt=on).values("enterprise_id")

    def parent(self, path):
        """The path of the parent of ``path`` on the date (``""``: none)."""
        return self.moved.get(path, _today_parent(path))

    def ancestors(self, path):
        """``path`` and its ancestors on the date, nearest first."""
        chain = []
        while path and len(chain) <= 64:  # a cycle in inconsistent states cannot loop forever
            chain.append(path)
            path = self.parent(path)
        return chain

    def key(self, path):
        """A string for ``path`` whose prefixes are its ancestors' keys on the date: keys sort in
        the tree's order and a subtree's keys are contiguous."""
        return "/".join(reversed(self.ancestors(path))) + "/"

    def row_of(self, path, top):
        """The path of the organisation directly below ``top`` on the date that ``path`` counts
        for, ``top`` itself for its own, or None when ``path`` was not in ``top``'s subtree. An
        organisation merged by the date counts as its successor."""
        below = None
        for ancestor in self.ancestors(path):
            if ancestor == top:
                return below or top
            if ancestor not in self.merged:
                below = ancestor
        return None

    def anchors(self, top):
        """The paths of the restructured organisations that matter to ``top``'s subtree: those
        below it today and those below it on the date, with the restructured ones below them today."""
        gone = [path for path in self.moved if not path.startswith(top) and self.row_of(path, top) is not None]
        return {
            path for path in self.moved if path.startswith(top) or any(path.startswith(outside) for outside in gone)
        }, gone

    def name(self, organization):
        """The organisation's name on the date."""
        return self.names.get(organization.path, organization.name)


def subtree_q(lookup, top, outside=()):
    """``lookup`` in ``top``'s subtree today or in one of the ``outside`` subtrees."""
    q = Q(**{f"{lookup}__startswith": top})
    for path in outside:
        q |= Q(**{f"{lookup}__startswith": path})
    return q
