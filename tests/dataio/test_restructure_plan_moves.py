"""The move rows of a restructuring plan (issue 13) are checked, previewed and written together:
the same preview, errors, tree, dated states, history and roll-ups as row by row, nothing written
when a row fails, and as many queries for twelve rows as for three."""

import datetime
import io
from collections import Counter

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from branches import services
from branches.choices import OrganizationKind
from branches.models import Organization, OrganizationQuerySet
from core import versions as versions_module
from dataio.restructure import COLUMNS, affected, plan_reason, run_plan
from tests.branches.test_move_organizations import REFORM, last_history_ids, organization, snapshot

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def communes(tree):
    """DIST, C2 and C3 under the city; DIST holds BR-A, BR-B and G1 (with S1 and S2), C3 holds G2."""
    organization("C2", tree.city, OrganizationKind.COMMITTEE)
    c3 = organization("C3", tree.city, OrganizationKind.COMMITTEE)
    organization("G2", c3, OrganizationKind.GRASSROOTS_COMMITTEE, members=[D(2020, 10, 10)])
    g1 = organization("G1", tree.committee, OrganizationKind.GRASSROOTS_COMMITTEE, members=[D(2022, 4, 1)])
    organization("S1", g1, OrganizationKind.SUBORDINATE_BRANCH, members=[D(2021, 5, 3)])
    organization("S2", g1, OrganizationKind.SUBORDINATE_BRANCH, members=[D(2024, 2, 1)])
    return tree


def plan(*rows):
    """A CSV plan of move rows ``(code, new parent[, effective date])``."""
    lines = [",".join(str(column.label) for column in COLUMNS)]
    for code, parent, *on in rows:
        row = {"operation": "move", "code": code, "new_parent": parent, "effective_date": (on or ["01/07/2025"])[0]}
        lines.append(",".join(str(row.get(column.key, "")) for column in COLUMNS))
    source = io.BytesIO("\n".join(lines).encode())
    source.name = "moves.csv"
    return source


def row_by_row(user, rows):
    """What the plan did before moves went together: each row's preview, then its move."""
    previews = []
    for code, parent in rows:
        moved = Organization.objects.get(code=code)
        previews.append(affected(moved, REFORM))
        services.move_organization(user, moved, Organization.objects.get(code=parent), on=REFORM)
    return previews


@pytest.mark.parametrize(
    "rows",
    [
        [("BR-A", "C2"), ("G1", "C3"), ("BR-B", "C2")],
        # each row after the first depends on an earlier one: moved again, out of, under or above it
        [("G1", "C2"), ("S1", "G2"), ("G1", "C3"), ("C2", "C3"), ("S1", "G1")],
    ],
)
@pytest.mark.parametrize("few_paths", [20, 0])
def test_move_rows_preview_and_write_what_they_did_row_by_row(communes, administrator, rows, few_paths, monkeypatch):
    monkeypatch.setattr(OrganizationQuerySet, "FEW_PATHS", few_paths)  # 0: subtrees read as for thousands
    before = last_history_ids()
    with transaction.atomic():
        result = run_plan(plan(*rows), acting_user=administrator)
        assert result.committed and not result.has_errors
        together = snapshot(before)
        transaction.set_rollback(True)
    with transaction.atomic():
        previews = row_by_row(administrator, rows)
        one_by_one = snapshot(before)
        transaction.set_rollback(True)
    assert [step.affects for step in result.steps] == previews
    reason = plan_reason("moves.csv")
    for history in ("organisation history", "state history"):  # the plan names what its user wrote
        one_by_one[history] = Counter(
            {
                (kind, user, (f"{reason}: {why}" if why else reason) if user == administrator.pk else why, *rest): n
                for (kind, user, why, *rest), n in one_by_one[history].items()
            }
        )
    assert together == one_by_one


def test_a_plan_with_bad_move_rows_writes_nothing_and_names_each_row_and_column(communes, administrator):
    before = snapshot(last_history_ids())
    result = run_plan(
        plan(
            ("BR-A", "C2"),
            ("G1", "S1"),  # under itself
            ("NOWHERE", "C2"),
            ("BR-B", "ELSEWHERE"),
            ("BR-B", ""),
            ("S1", "C3", "01/07/2099"),  # in the future, and a subordinate branch under a committee
        ),
        acting_user=administrator,
    )
    assert not result.committed
    assert result.errors() == [
        (3, "new parent", "An organisation cannot move under itself or its own subtree."),
        (4, "organisation code", "No organisation has the code NOWHERE."),
        (5, "new parent", "No organisation has the code ELSEWHERE."),
        (6, "new parent", "This operation needs this column."),
        (7, "new parent", "A subordinate branch cannot sit under a committee above grassroots level."),
        (7, "effective date", "The date the change takes effect cannot be in the future."),
    ]
    assert snapshot(last_history_ids()) == before
    first = [affected(Organization.objects.get(code=code), REFORM) for code in ("BR-A", "G1")]
    assert [step.affects for step in result.steps[:2]] == first


def test_the_queries_of_a_plan_of_moves_do_not_grow_with_its_rows(communes, administrator):
    def rows(prefix, count):
        for n in range(count):
            organization(f"{prefix}{n}", communes.committee, members=[D(2024, 1, 2)])
        return [(f"{prefix}{n}", "C2") for n in range(count)]

    few, many = rows("FEW-", 3), rows("MANY-", 12)
    run_plan(plan(("BR-A", "C2")), acting_user=administrator, dry_run=True)  # the user's scope, read once
    for dry_run in (True, False):
        with CaptureQueriesContext(connection) as three:
            assert run_plan(plan(*few), acting_user=administrator, dry_run=dry_run).steps
        with CaptureQueriesContext(connection) as twelve:
            assert run_plan(plan(*many), acting_user=administrator, dry_run=dry_run).steps
        assert len(twelve.captured_queries) == len(three.captured_queries)


def test_a_preview_keeps_no_counts_but_marks_what_it_read_as_written(communes, administrator):
    """A preview is rolled back, so the roll-ups and counts its moves would shift are not computed
    (no statement touches the reports' tables); it shows the same steps as the commit, and both
    versions move on as they would, so nothing read inside the preview is kept under them."""
    rows = [("BR-A", "C2"), ("G1", "C3")]

    def counts_written(captured):
        return [q["sql"] for q in captured if '"reports_' in q["sql"] or " reports_" in q["sql"]]

    versions = versions_module.data_version(), versions_module.structure_version()
    with CaptureQueriesContext(connection) as previewing:
        preview = run_plan(plan(*rows), acting_user=administrator, dry_run=True)
    assert not preview.committed and not preview.has_errors
    assert counts_written(previewing.captured_queries) == []
    assert versions_module.data_version() > versions[0] and versions_module.structure_version() > versions[1]
    assert Organization.objects.get(code="BR-A").parent.code == communes.committee.code
    with transaction.atomic(), CaptureQueriesContext(connection) as committing:
        committed = run_plan(plan(*rows), acting_user=administrator)
        assert committed.committed
        assert counts_written(committing.captured_queries)  # the commit keeps them
        transaction.set_rollback(True)
    assert [step.affects for step in preview.steps] == [step.affects for step in committed.steps]
