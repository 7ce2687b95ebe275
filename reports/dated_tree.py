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

from django.core.cache import cache
from django.db.models import Case, F, Q, When

from branches.choices import OrganizationChange
from branches.models import OrganizationVersion
from config import routers
from core.models import TREE_STEPLEN
from core.versions import KeptPerStructureVersion, structure_version, uncommitted_writes
from enterprises.models import ManagingCommitteePeriod

_ROOT = ""


def _today_parent(path):
    return path[:-TREE_STEPLEN]


def committee_changes():
    """Every distinct ``(today's committee id, its path, the committee id of then, its path,
    valid_from, valid_to)`` of the enterprises managed for a closed period by another committee
    than today's.

    Read once per structure version (any write to the structure changes it) and kept in the
    cache: the reform passes most enterprises of the country at once, so the join behind these
    few thousand rows reads every period and enterprise, and a report under the historical
    structure asks for the committees of many dates. A period in force on a date that ends later
    is exactly an enterprise that passed to another committee after that date (its periods follow
    each other without a gap).
    """
    writing = uncommitted_writes()  # what it reads may roll back: kept by no one
    key = f"reports:committee-changes-with-paths:{structure_version()}"
    rows = None if writing else cache.get(key)
    if rows is None:
        rows = list(
            ManagingCommitteePeriod.objects.filter(valid_to__isnull=False)
            .exclude(committee_id=F("enterprise__managing_committee_id"))
            .values_list(
                "enterprise__managing_committee_id",
                "enterprise__managing_committee__path",
                "committee_id",
                "committee__path",
                "valid_from",
                "valid_to",
            )
            .distinct()
            .order_by()
        )
        if not writing and routers.replica_is_current():
            cache.set(key, rows, COMMITTEE_CHANGES_SECONDS)
    return rows


#: How long the committee changes of one structure version are kept (a new version reads them again).
COMMITTEE_CHANGES_SECONDS = 24 * 3600


class DatedTree:
    """The tree on ``on`` (None: today's tree, no query).

    ``moved`` maps the path of each organisation whose parent on ``on`` differs from today's to
    the path of that parent (``""`` for a root); ``names`` its name on ``on`` when it differs;
    ``ids`` the organisation id of each of those paths. An organisation that did not exist on
    ``on`` stands where its nearest state puts it: its last one when it ended before, its first
    when it began after; one merged by then counts as part of its successor (``merged``).

    ``enterprises``: whether some enterprise passed to another managing committee after ``on``;
    :func:`moved_enterprises_sql` then pairs each with today's committee and the one of ``on``,
    and the engine moves their figures from the first to the second (grouped by the pair, in SQL:
    a reform passes most enterprises of a province at once).
    """

    def __init__(self, on=None):
        self.on = on
        self.moved = {}
        self.names = {}
        self.ids = {}
        self.merged = set()  # paths of organisations merged into another by ``on``
        self.enterprises = False
        self._pairs = None
        self._keys = {}
        self._rows = {}  # top → {path: (reaches top, topmost not merged below it)}
        self._anchors = {}  # top → (anchors, gone)
        if on is None:
            return
        self.enterprises = self.enterprises_changed_since(on).exists()
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

    def enterprise_pairs(self, top):
        """The pairs ``(today's committee id, that date's)`` of the enterprises managed on the date
        by another committee than today's whose two committees stand in different rows of
        ``top``'s report (only theirs need moving: a reform within a province moves nothing in the
        national report), from :func:`committee_changes`."""
        if not self.enterprises:
            return []
        if self._pairs is None:
            on = self.on
            self._pairs = sorted(
                {
                    (today_id, today_path, then_id, then_path)
                    for today_id, today_path, then_id, then_path, valid_from, valid_to in committee_changes()
                    if (valid_from is None or valid_from <= on) and valid_to > on
                }
            )
        return [
            (today_id, then_id)
            for today_id, today_path, then_id, then_path in self._pairs
            if self.row_of(today_path, top) != self.row_of(then_path, top)
        ]

    def moved_enterprises_sql(self, pairs):
        """``(sql, params)`` of SELECT e, today_path, then_path: each enterprise managed on the
        date by another committee than today's, one of ``pairs`` (see :meth:`enterprise_pairs`),
        with the paths of both committees."""
        return self._moved_sql(pairs=pairs)

    def _moved_sql(self, *, pairs=None):
        periods = ManagingCommitteePeriod._meta.db_table
        enterprises = ManagingCommitteePeriod._meta.get_field("enterprise").related_model._meta.db_table
        committees = ManagingCommitteePeriod._meta.get_field("committee").related_model._meta.db_table
        selected = "p.enterprise_id AS e, tc.path AS today_path, pc.path AS then_path"
        only = ""
        if pairs is not None:
            today_ids = ", ".join(str(int(today_id)) for today_id, _then in pairs) or "NULL"
            then_ids = ", ".join(str(int(then_id)) for _today, then_id in pairs) or "NULL"
            only = f"AND tc.id IN ({today_ids}) AND pc.id IN ({then_ids})"
        sql = f"""
            SELECT {selected}
            FROM {periods} p
            INNER JOIN {enterprises} en ON en.id = p.enterprise_id
            INNER JOIN {committees} tc ON tc.id = en.managing_committee_id
            INNER JOIN {committees} pc ON pc.id = p.committee_id
            WHERE (p.valid_from IS NULL OR p.valid_from <= %s) AND (p.valid_to IS NULL OR p.valid_to > %s)
                AND p.enterprise_id IN (SELECT enterprise_id FROM {periods} WHERE valid_from > %s)
                AND pc.path <> tc.path {only}
        """
        return sql, [self.on.isoformat()] * 3

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
        the tree's order and a subtree's keys are contiguous. With nothing moved, the path itself."""
        if not self.moved:
            return path
        key = self._keys.get(path)
        if key is None:
            key = self._keys[path] = "/".join(reversed(self.ancestors(path))) + "/"
        return key

    def row_of(self, path, top):
        """The path of the organisation directly below ``top`` on the date that ``path`` counts
        for, ``top`` itself for its own, or None when ``path`` was not in ``top``'s subtree. An
        organisation merged by the date counts as its successor."""
        if path == top:
            return top
        reaches, below = self._below(path, top)
        return (below or top) if reaches else None

    def _below(self, path, top):
        """``(whether top is an ancestor of path on the date, the topmost organisation not
        merged by then between them, path included)``; kept per ``top``, so the rows of many
        paths walk each ancestor once."""
        known = self._rows.setdefault(top, {})
        chain = []
        answer = None
        while True:
            if path in known:
                answer = known[path]
                break
            parent = self.parent(path)
            if not parent or len(chain) > 64:  # a root, or a cycle in inconsistent states
                answer = (False, None)
                chain.append(path)
                break
            chain.append(path)
            if parent == top:
                answer = (True, None)
                break
            path = parent
        for node in reversed(chain):  # from the top down, each node's answer is its parent's
            reaches, below = answer
            if reaches and below is None and node not in self.merged:
                answer = (True, node)
            elif not reaches:
                answer = (False, None)
            known[node] = answer
        return answer

    def anchors(self, top):
        """The paths of the restructured organisations that matter to ``top``'s subtree, and those of
        the ones gone from it since (``gone``, outside it today). One matters when the subtree
        totals of today's tree must be cut at it: it stood in another row on the date than the
        block it lies in today (a branch moved between two committees of the same province
        changes no row of the national report, so the reform of a whole country costs none there)."""
        if top not in self._anchors:
            self._anchors[top] = self._find_anchors(top)
        return self._anchors[top]

    def _find_anchors(self, top):
        gone = [path for path in self.moved if not path.startswith(top) and self.row_of(path, top) is not None]
        candidates = {
            path for path in self.moved if path.startswith(top) or any(path.startswith(outside) for outside in gone)
        }
        child_length = len(top) + TREE_STEPLEN
        kept = set()
        for path in sorted(candidates, key=len):  # a block's enclosing blocks are decided first
            if not path.startswith(top) or len(path) <= child_length:
                kept.add(path)
                continue
            enclosing = next(
                (
                    path[:cut]
                    for cut in range(len(path) - TREE_STEPLEN, child_length, -TREE_STEPLEN)
                    if path[:cut] in kept
                ),
                path[:child_length],
            )
            if self.row_of(path, top) != self.row_of(enclosing, top):
                kept.add(path)
        return kept, gone

    def name(self, organization):
        """The organisation's name on the date."""
        return self.names.get(organization.path, organization.name)


_change_days = KeptPerStructureVersion(1)


def change_days():
    """``(states, passes)``: the distinct ``(day a state begins, day it ends)`` of the organisations'
    dated states, each None when it only establishes or dissolves (an establishment or a
    dissolution moves no one), and the distinct ``(valid_from, valid_to)`` of the enterprises'
    managing committees with a start. A few thousand pairs behind a million rows (a reform
    passes most enterprises of a country on one day): read once per structure version and kept."""
    return _change_days.get("days", _read_change_days)


def _read_change_days():
    states = set(
        OrganizationVersion.objects.annotate(
            begins=Case(When(~Q(change=OrganizationChange.ESTABLISHED), then=F("valid_from"))),
            ends=Case(When(~Q(end_change=OrganizationChange.DISSOLVED), then=F("valid_to"))),
        )
        .order_by()
        .values_list("begins", "ends")
        .distinct()
    )
    passes = set(
        ManagingCommitteePeriod.objects.filter(valid_from__isnull=False)
        .order_by()
        .values_list("valid_from", "valid_to")
        .distinct()
    )
    return states, passes


#: How many dated trees each process keeps (each is the states of the organisations restructured
#: since its date: tens of thousands before a national reform).
TREES_KEPT = 8

_trees = KeptPerStructureVersion(TREES_KEPT)


def dated_tree(on):
    """The :class:`DatedTree` of ``on``, kept per structure version (a restructuring, a move or a
    renaming reads it again; admissions and transfers do not): the reports of a past date share
    its states and the rows it already placed. A transaction that wrote builds its own."""
    if on is None:
        return DatedTree(on)
    return _trees.get(on, lambda: DatedTree(on))


def subtree_q(lookup, top, outside=()):
    """``lookup`` in ``top``'s subtree today or in one of the ``outside`` subtrees."""
    q = Q(**{f"{lookup}__startswith": top})
    for path in outside:
        q |= Q(**{f"{lookup}__startswith": path})
    return q
