"""Many organisations moved at once (issue 13): ``services.move_organizations`` leaves the tree,
the dated states, the history, the roll-ups and the standing counts that the same moves one by one
leave, refuses what ``move_organization`` refuses (naming each refused move, writing nothing), and
its queries do not grow with the number of moves."""

import datetime
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from branches import services
from branches.choices import OrganizationKind
from branches.models import Organization, OrganizationQuerySet, OrganizationVersion
from reports.models import Rollup, StandingCount
from tests.factories import MemberFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

D = datetime.date
REFORM = D(2025, 7, 1)
GRASSROOTS_BRANCH = OrganizationKind.GRASSROOTS_BRANCH


def organization(code, parent, kind=GRASSROOTS_BRANCH, members=()):
    """An organisation under ``parent`` with members admitted on the dates ``members``."""
    created = OrganizationFactory(code=code, kind=kind, parent=parent, locality=parent.locality)
    for admitted_on in members:
        MemberFactory(organization=created, admitted_on=admitted_on)
    return created


@pytest.fixture
def communes(tree, administrator):
    """Three commune committees under the city (DIST, C2, C3) holding branches, a grassroots
    committee with its subordinate branches, members admitted in several months, and dated states:
    BR-B renamed in 2024, BR-C renamed on the day of the reform."""
    c2 = organization("C2", tree.city, OrganizationKind.COMMITTEE)
    c3 = organization("C3", tree.city, OrganizationKind.COMMITTEE)
    g1 = organization("G1", tree.committee, OrganizationKind.GRASSROOTS_COMMITTEE)
    organization("S1", g1, OrganizationKind.SUBORDINATE_BRANCH, members=[D(2021, 5, 3), D(2023, 11, 20)])
    organization("S2", g1, OrganizationKind.SUBORDINATE_BRANCH, members=[D(2024, 2, 1)])
    organization("BR-C", c2, members=[D(2022, 8, 8)])
    g2 = organization("G2", c2, OrganizationKind.GRASSROOTS_COMMITTEE)
    organization("S3", g2, OrganizationKind.SUBORDINATE_BRANCH, members=[D(2019, 1, 15)])
    organization("BR-D", c3, members=[D(2024, 6, 30)])
    MemberFactory(organization=tree.branch_a, admitted_on=D(2024, 3, 9))
    services.rename_organization(administrator, tree.branch_b, name="Chi bộ Bình Minh", on=D(2024, 1, 1))
    services.rename_organization(administrator, Organization.objects.get(code="BR-C"), name="Chi bộ C", on=REFORM)
    return tree


def code(value):
    return Organization.objects.get(code=value)


def moves_of(*rows):
    return [
        services.Move(code(moved), code(parent), on=on, decision_number=number, decision_date=decided)
        for moved, parent, on, number, decided in rows
    ]


def snapshot(history_after):
    """Everything a move writes, keyed by codes rather than ids: the tree, the dated states, the
    history rows after ``history_after`` (``(organisation, state)`` history ids), the roll-ups
    and the standing counts."""
    codes = dict(Organization.objects.values_list("pk", "code"))
    organizations, states = history_after
    return {
        "tree": sorted(Organization.objects.values_list("code", "path", "depth", "numchild", "version")),
        "states": sorted(
            (
                codes[v.organization_id],
                codes.get(v.parent_id),
                v.name,
                v.valid_from,
                v.valid_to,
                v.change,
                v.decision_number,
                v.decision_date,
                v.end_change,
            )
            for v in OrganizationVersion.objects.all()
        ),  # fmt: skip
        "organisation history": Counter(
            (h.history_type, h.history_user_id, h.history_change_reason, h.code, h.path, h.depth, h.version)
            for h in Organization.history.filter(history_id__gt=organizations)
        ),
        "state history": Counter(
            (
                h.history_type,
                h.history_user_id,
                h.history_change_reason,
                codes[h.organization_id],
                codes.get(h.parent_id),
                h.valid_from,
                h.valid_to,
                h.change,
                h.decision_number,
                h.end_change,
            )
            for h in OrganizationVersion.history.filter(history_id__gt=states)
        ),  # fmt: skip
        "rollups": sorted(
            (codes[r.organization_id], r.month, r.metric, r.value) for r in Rollup.objects.exclude(value=0)
        ),
        "standing": sorted(
            (codes[s.organization_id], s.day, s.metric, s.value) for s in StandingCount.objects.exclude(value=0)
        ),
    }


def last_history_ids():
    return (
        Organization.history.order_by("-history_id").values_list("history_id", flat=True).first() or 0,
        OrganizationVersion.history.order_by("-history_id").values_list("history_id", flat=True).first() or 0,
    )


def together_and_one_by_one(user, rows):
    """The snapshots after ``rows`` moved together (then rolled back) and one by one."""
    with transaction.atomic():
        before = last_history_ids()
        services.move_organizations(user, moves_of(*rows))
        together = snapshot(before)
        transaction.set_rollback(True)
    before = last_history_ids()
    for move in moves_of(*rows):
        services.move_organization(
            user, move.organization, move.new_parent, on=move.on, decision_number=move.decision_number,
            decision_date=move.decision_date,
        )  # fmt: skip
    return together, snapshot(before)


@pytest.fixture(params=["few paths", "many paths"])
def paths(request, monkeypatch):
    """The organisations' subtrees and children read as for a few paths (the path index), or as for
    many (each row's prefix compared with them all), whatever their number."""
    if request.param == "many paths":
        monkeypatch.setattr(OrganizationQuerySet, "FEW_PATHS", 0)


def test_moves_together_leave_what_the_same_moves_one_by_one_leave(communes, administrator, paths):
    rows = [
        ("BR-A", "C2", REFORM, "", None),
        ("G1", "C3", REFORM, "12-QĐ/TU", D(2025, 6, 28)),
        ("BR-C", "C3", REFORM, "", None),  # renamed that day: one state, amended
        ("BR-B", "C2", D(2025, 8, 1), "7-QĐ/TU", None),
        ("BR-D", "C3", REFORM, "", None),  # already there: only its first state is written
    ]
    together, one_by_one = together_and_one_by_one(administrator, rows)
    assert together == one_by_one
    paths = {code: path for code, path, *_rest in together["tree"]}
    assert paths["S1"].startswith(paths["G1"]) and paths["G1"].startswith(paths["C3"])
    assert paths["BR-A"].startswith(paths["C2"]) and paths["BR-B"].startswith(paths["C2"])
    assert ("BR-C", "C3", "Chi bộ C", REFORM, None, "moved", "", None, "") in together["states"]


def places(tree):
    """Each organisation's parent and rank among its siblings, its depth, number of children and
    version: the tree without its paths."""
    path_of = {code: path for code, path, *_rest in tree}
    code_at = {path: code for code, path in path_of.items()}
    siblings = {}
    for code, path in sorted(path_of.items(), key=lambda item: item[1]):
        siblings.setdefault(path[:-4], []).append(code)
    return sorted(
        (code, code_at.get(path[:-4]), siblings[path[:-4]].index(code), depth, numchild, version)
        for code, path, depth, numchild, version in tree
    )


def test_moves_into_a_parent_whose_last_child_left_keep_the_order_of_one_by_one(communes, administrator):
    """One by one, a parent's last child leaving frees its place for the next arrival; together,
    the arrivals go after every child the parent had at the start: the paths differ, not the order."""
    rows = [("BR-A", "C2", REFORM, "", None), ("G1", "C3", REFORM, "", None), ("BR-B", "C3", REFORM, "", None)]
    rows += [("BR-D", "DIST", REFORM, "", None), ("BR-C", "DIST", REFORM, "", None)]
    together, one_by_one = together_and_one_by_one(administrator, rows)
    assert places(together.pop("tree")) == places(one_by_one.pop("tree"))
    for result in (together, one_by_one):  # the organisations' history without their paths
        result["organisation history"] = Counter(row[:4] + row[5:] for row in result["organisation history"].elements())
    assert together == one_by_one


def test_moves_that_depend_on_earlier_ones_are_written_after_them(communes, administrator, paths):
    rows = [
        ("G1", "C2", REFORM, "", None),
        ("S1", "G2", REFORM, "", None),  # out of the subtree moved just before
        ("S3", "G1", REFORM, "", None),  # under it, at its new place
        ("G1", "C3", D(2025, 9, 1), "", None),  # the same organisation again
        ("C2", "C3", D(2025, 9, 1), "", None),  # above an earlier move's new parent
    ]
    together, one_by_one = together_and_one_by_one(administrator, rows)
    assert together == one_by_one


def test_independent_moves_stop_at_the_first_move_touching_an_earlier_one(communes):
    def pair(moved, parent):
        return (code(moved), parent and code(parent))

    assert services.independent_moves([pair("BR-A", "C2"), pair("G1", "C3"), pair("BR-D", "DIST")]) == 3
    assert services.independent_moves([pair("G1", "C2"), pair("S1", "C3")]) == 1  # inside a moved subtree
    assert services.independent_moves([pair("S1", "C2"), pair("G1", "C3")]) == 1  # above a moved organisation
    assert services.independent_moves([pair("BR-A", "G1"), pair("G1", "C3")]) == 1  # a new parent moving
    assert services.independent_moves([pair("G1", "C3"), pair("BR-A", "S1")]) == 1  # under a moved subtree
    assert services.independent_moves([pair("BR-A", "C2"), pair("DIST", None)]) == 1  # read above a move
    assert services.independent_moves([pair("BR-A", "C2"), (None, code("C3")), pair("G1", None)]) == 3


def test_refused_moves_are_named_by_their_index_and_nothing_is_written(communes, administrator):
    moves = moves_of(
        ("BR-A", "C2", REFORM, "", None),
        ("G1", "S1", REFORM, "", None),
        ("BR-B", "C2", D(2023, 1, 1), "", None),  # before its latest state (2024)
    )
    before = snapshot(last_history_ids())
    with pytest.raises(services.MovesRefused) as refused:
        services.move_organizations(administrator, moves)
    assert sorted(refused.value.refusals) == [1, 2]
    for index in (1, 2):
        move = moves[index]
        with pytest.raises(ValidationError) as alone:
            services.move_organization(administrator, move.organization, move.new_parent, on=move.on)
        assert refused.value.refusals[index].message_dict == alone.value.message_dict
    assert list(refused.value.message_dict) == ["parent", "on"]  # every refusal's messages by field
    assert snapshot(last_history_ids()) == before


def test_skipping_refused_moves_writes_the_others(communes, administrator):
    moves = moves_of(("G1", "S1", REFORM, "", None), ("BR-A", "C2", REFORM, "", None))
    refusals = services.move_organizations(administrator, moves, skip_refused=True)
    assert list(refusals) == [0]
    assert code("BR-A").path.startswith(code("C2").path)
    assert code("G1").path.startswith(code("DIST").path)


def test_the_queries_of_a_batch_of_moves_do_not_grow_with_its_size(communes, administrator):
    def batch(prefix, size):
        moved = [organization(f"{prefix}{n}", communes.committee, members=[D(2024, 1, 2)]) for n in range(size)]
        return [services.Move(org, code("C2"), on=REFORM) for org in moved]

    small, large = batch("SMALL-", 3), batch("LARGE-", 12)
    with CaptureQueriesContext(connection) as few:
        services.move_organizations(administrator, small)
    with CaptureQueriesContext(connection) as many:
        services.move_organizations(administrator, large)
    assert len(many.captured_queries) == len(few.captured_queries)
