"""Restructuring plans (issue 13): one operation per row, a preview naming what each affects and
every error by row and column, all or nothing."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from branches import approvals
from branches.choices import OrganizationChange, RoleKey
from branches.models import Organization, OrganizationVersion
from branches.structure import timeline
from dataio.restructure import COLUMN_LABELS, COLUMNS, run_plan
from tests.factories import OrganizationFactory, RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def plan_file(*rows):
    """A CSV plan: each row a dict of column keys."""
    lines = [",".join(str(column.label) for column in COLUMNS)]
    for row in rows:
        lines.append(",".join(str(row.get(column.key, "")) for column in COLUMNS))
    data = io.BytesIO("\n".join(lines).encode())
    data.name = "reform-2025.csv"
    return data


def establish_ward(code="WARD"):
    return {
        "operation": "establish",
        "code": code,
        "new_parent": "CITY",
        "new_name": f"Đảng ủy phường {code}",
        "kind": "committee",
        "locality": "01",
        "effective_date": "01/07/2025",
        "decision_number": "2410-QĐ/TU",
        "decision_date": "28/06/2025",
    }


def move(code, parent):
    return {"operation": "move", "code": code, "new_parent": parent, "effective_date": "01/07/2025"}


def test_a_plan_with_one_bad_row_writes_nothing_and_names_the_row_and_column(tree, administrator):
    source = plan_file(establish_ward(), move("BR-A", "WARD"), move("BR-B", "NOWHERE"))
    result = run_plan(source, acting_user=administrator)
    assert not result.committed and result.has_errors
    assert result.errors() == [(4, "new parent", "No organisation has the code NOWHERE.")]
    assert not Organization.objects.filter(code="WARD").exists()
    assert Organization.objects.get(code="BR-A").parent.code == "DIST"
    assert not OrganizationVersion.objects.filter(organization__code="BR-A").exists()


def test_a_good_plan_previews_what_it_affects_and_commits_everything_with_the_plan_named(
    tree, administrator, secretary_a
):
    OrganizationFactory(code="DIST2", name="Quận ủy 2", parent=tree.city, locality=tree.province)
    rows = [
        establish_ward("NORTH"),
        establish_ward("SOUTH"),
        {**move("BR-A", "NORTH"), "decision_number": "7-QĐ/TU"},
        {"operation": "rename", "code": "BR-B", "new_name": "Chi bộ Bình Minh mới", "effective_date": "01/07/2025"},
        {"operation": "merge", "code": "DIST2", "target": "SOUTH", "effective_date": "01/07/2025"},
    ]
    dry = run_plan(plan_file(*rows), acting_user=administrator, dry_run=True)
    assert not dry.has_errors and not dry.committed
    assert not Organization.objects.filter(code="NORTH").exists()
    lines = "\n".join(dry.preview_lines())
    assert "row 4: move BR-A" in lines and "role assignments: " in lines and "members: " in lines
    result = run_plan(plan_file(*rows), acting_user=administrator)
    assert result.committed
    branch = Organization.objects.get(code="BR-A")
    assert branch.parent.code == "NORTH"
    assert [v.parent.code for v in timeline(branch)] == ["DIST", "NORTH"]
    assert Organization.objects.get(code="BR-B").name == "Chi bộ Bình Minh mới"
    ended = timeline(Organization.objects.get(code="DIST2"))[-1]
    assert (ended.end_change, ended.successor.code) == (OrganizationChange.MERGED, "SOUTH")
    record = branch.history.order_by("-history_id").first()
    assert record.history_user == administrator
    assert record.history_change_reason.startswith("restructuring plan reform-2025.csv")


def test_a_split_in_a_plan_lists_each_destination_and_refuses_shares_not_adding_up(tree, administrator):
    rows = [
        establish_ward("NORTH"),
        establish_ward("SOUTH"),
        {
            "operation": "split",
            "code": "DIST",
            "target": "NORTH",
            "item": "BR-A",
            "share": "60",
            "effective_date": "01/07/2025",
        },
        {
            "operation": "split",
            "code": "DIST",
            "target": "SOUTH",
            "item": "BR-B",
            "share": "30",
            "effective_date": "01/07/2025",
        },
    ]
    result = run_plan(plan_file(*rows), acting_user=administrator)
    assert [(row, column) for row, column, _message in result.errors()] == [(4, "share of the targets (%)")]
    assert Organization.objects.get(code="DIST").dissolved_on is None
    rows[-1]["share"] = "40"
    result = run_plan(plan_file(*rows), acting_user=administrator)
    assert result.committed
    lines = "\n".join(result.preview_lines())
    assert "BR-A → NORTH" in lines and "BR-B → SOUTH" in lines
    assert Organization.objects.get(code="DIST").dissolved_on == D(2025, 7, 1)


def test_restructure_command_prints_the_preview_and_fails_on_errors_without_writing(tree, administrator, tmp_path):
    path = tmp_path / "plan.csv"
    path.write_bytes(plan_file(establish_ward(), move("BR-A", "NOWHERE")).getvalue())
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("restructure", str(path), "--user", administrator.username, stdout=out)
    assert "row 3, column “new parent”" in out.getvalue()
    assert not Organization.objects.filter(code="WARD").exists()
    path.write_bytes(plan_file(establish_ward(), move("BR-A", "WARD")).getvalue())
    call_command("restructure", str(path), "--dry-run", "--user", administrator.username, stdout=out)
    assert not Organization.objects.filter(code="WARD").exists()
    call_command("restructure", str(path), "--user", administrator.username, stdout=out)
    assert Organization.objects.get(code="BR-A").parent.code == "WARD"


def test_administrator_uploads_a_plan_sees_the_preview_and_applies_it(client, tree, administrator, secretary_a):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    client.force_login(secretary_a)
    assert client.get(reverse("io:restructure")).status_code == 403
    client.force_login(administrator)
    template = client.get(reverse("io:restructure_template") + "?format=csv")
    assert template.status_code == 200 and b"move,HN-CG-HONGHA,HN-NGHIADO" in template.content
    content = plan_file(establish_ward(), move("BR-A", "WARD")).getvalue()
    response = client.post(reverse("io:restructure"), {"file": SimpleUploadedFile("plan.csv", content)})
    assert response.status_code == 200
    assert "BR-A" in response.content.decode() and not response.context["result"].has_errors
    assert not Organization.objects.filter(code="WARD").exists()
    token = response.context["token"]
    done = client.post(reverse("io:restructure_commit", args=[token]))
    assert done.status_code == 200 and done.context["result"].committed
    assert Organization.objects.get(code="BR-A").parent.code == "WARD"
    bad = plan_file(move("BR-A", "NOWHERE")).getvalue()
    response = client.post(reverse("io:restructure"), {"file": SimpleUploadedFile("plan.csv", bad)})
    ((row, column, _message),) = response.context["result"].errors()
    with translation.override("vi"):  # the page is in the site's language
        assert (row, column) == (2, str(COLUMN_LABELS["new_parent"]))
    assert column in response.content.decode()


def test_a_plan_dated_in_an_approved_period_is_refused_with_the_approval_named(
    tree, administrator, secretary_a, secretary_b, department
):
    city_department = UserFactory(username="city_department")
    RoleAssignmentFactory(user=city_department, role=RoleKey.DEPARTMENT, organization=tree.city)
    for secretary, branch in ((secretary_a, tree.branch_a), (secretary_b, tree.branch_b)):
        approvals.submit(secretary, branch, year=2024)
        approvals.approve(department, branch, year=2024)
    approvals.submit(department, tree.committee, year=2024)
    approvals.approve(city_department, tree.committee, year=2024)
    OrganizationFactory(code="DIST2", name="Quận ủy 2", parent=tree.city, locality=tree.province)
    row = {**move("BR-A", "DIST2"), "effective_date": "01/10/2024"}
    result = run_plan(plan_file(row), acting_user=administrator)
    assert not result.committed and result.has_errors
    [(line, _column, message)] = result.errors()
    assert line == 2 and "approved on" in message and "city_department" in message
    assert Organization.objects.get(code="BR-A").parent.code == "DIST"


def test_a_plan_passes_an_enterprise_to_another_committee_from_its_date(tree, administrator):
    from enterprises.models import ManagingCommitteePeriod

    ward = establish_ward()
    passing = {
        "operation": "pass",
        "code": tree.enterprise_a.tax_code,
        "target": "WARD",
        "effective_date": "01/07/2025",
        "decision_number": "2410-QĐ/TU",
    }
    unknown = {**passing, "code": "0000000000"}
    refused = run_plan(plan_file(ward, passing, unknown), acting_user=administrator)
    assert not refused.committed
    assert [(error.column, error.message) for _n, error in refused.steps[2].errors] == [
        (str(COLUMN_LABELS["code"]), "No enterprise has the tax code 0000000000.")
    ]
    assert not ManagingCommitteePeriod.objects.exists()

    result = run_plan(plan_file(ward, passing), acting_user=administrator)
    assert result.committed and not result.has_errors
    assert any("then by WARD" in line for line in result.steps[1].affects)
    tree.enterprise_a.refresh_from_db()
    assert tree.enterprise_a.managing_committee.code == "WARD"
    before = ManagingCommitteePeriod.objects.on(D(2025, 6, 30)).get(enterprise=tree.enterprise_a)
    assert before.committee == tree.committee


def test_a_plan_restructures_localities_with_the_same_rules(tree, administrator):
    from enterprises.models import Locality
    from enterprises.structure import locality_on
    from tests.factories import LocalityFactory

    district = LocalityFactory(code="005", name="Quận Cầu Giấy", kind="district", parent=tree.province)
    LocalityFactory(code="00160", name="Phường Dịch Vọng", kind="ward", parent=district)
    new_ward = {
        "operation": "establish-locality",
        "code": "00170",
        "new_name": "Phường Nghĩa Đô",
        "kind": "ward",
        "new_parent": "01",
        "effective_date": "01/07/2025",
        "decision_number": "1656/NQ-UBTVQH15",
        "decision_date": "16/06/2025",
    }
    merge = {"operation": "merge-localities", "code": "00001", "target": "00170", "effective_date": "01/07/2025"}
    abolish = {"operation": "bỏ cấp huyện", "code": "005", "effective_date": "01/07/2025"}
    rename = {"operation": "rename-locality", "code": "01", "new_name": "Thủ đô Hà Nội", "effective_date": "01/07/2025"}
    unknown = {**merge, "target": "09999"}

    refused = run_plan(plan_file(new_ward, merge, unknown, abolish), acting_user=administrator)
    assert not refused.committed
    assert refused.errors() == [(4, "into or to", "No locality has the code 09999.")]
    assert not Locality.objects.filter(code="00170").exists()
    assert Locality.objects.get(code="00001").ended_on is None

    wrong_kind = {**new_ward, "kind": "committee"}
    assert run_plan(plan_file(wrong_kind), acting_user=administrator).errors()[0][1] == "kind"

    result = run_plan(plan_file(new_ward, merge, abolish, rename), acting_user=administrator)
    assert result.committed and not result.has_errors, result.errors()
    assert any("enterprises located there: 2" in line for line in result.steps[1].affects)
    ward = Locality.objects.get(code="00170")
    tree.enterprise_a.refresh_from_db()
    tree.branch_a.refresh_from_db()
    assert tree.enterprise_a.locality == ward
    assert locality_on(tree.enterprise_a, D(2025, 6, 30)) == tree.commune
    assert tree.branch_a.locality == ward
    assert Locality.objects.get(code="00001").ended_on == D(2025, 7, 1)
    assert Locality.objects.get_parent(Locality.objects.get(code="00160")) == tree.province
    assert Locality.objects.get(code="005").ended_on == D(2025, 7, 1)
    assert Locality.objects.get(code="01").name == "Thủ đô Hà Nội"
    reason = ward.history.order_by("-history_id").first().history_change_reason
    assert reason.startswith("restructuring plan reform-2025.csv")
