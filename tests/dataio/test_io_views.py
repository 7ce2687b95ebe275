"""Pages: templates, upload → preview → commit, exports for every list, change history, commands."""

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from branches.models import Member
from core.spreadsheets import read_spreadsheet
from dataio.imports import import_members
from security.models import AccessLog
from tests.dataio.test_io_members_import import csv_bytes, member_row
from tests.factories import MassOrganizationFactory, MemberFactory, ProspectFactory


@pytest.fixture
def upload_dir(files_dir):
    return files_dir / "imports"


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (the site's default language is Vietnamese)."""
    with translation.override("en"):
        yield


def login(client, user, language="en"):
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


def upload(client, content, name="members.csv", kind="members", organization="BR-A"):
    return client.post(
        reverse("io:import"),
        {"kind": kind, "organization": organization, "file": SimpleUploadedFile(name, content)},
    )


# Templates --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["members", "enterprises", "returns"])
def test_template_downloads_have_the_expected_columns(client, secretary_a, kind):
    response = login(client, secretary_a).get(reverse("io:template"), {"kind": kind, "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith(f'{kind}-template.xlsx"')
    headers = read_spreadsheet(response.content).headers
    assert headers[0].endswith("*")


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_filled_in_template_imports_in_either_language(client, tree, secretary_a, language):
    response = login(client, secretary_a, language).get(reverse("io:template"), {"kind": "members", "format": "csv"})
    assert response.content.startswith("\ufeff".encode())
    headers = read_spreadsheet(response.content).headers
    with translation.override(language):
        from dataio.imports import MEMBER_COLUMNS

        assert headers == [column.header for column in MEMBER_COLUMNS]
    values = dict(
        zip(headers, ["001190000001", "Hoàng Thị Lan", "nữ", "01/01/1990", "", "", "01/06/2024"], strict=False)
    )
    result = import_members(csv_bytes([values], headers), organization=tree.branch_a, acting_user=secretary_a)
    assert result.counts["create"] == 1, result.preview_lines()


# Upload → preview → commit ----------------------------------------------------------------


def test_secretary_uploads_previews_and_commits(client, tree, secretary_a, upload_dir):
    login(client, secretary_a)
    response = upload(client, csv_bytes([member_row(1), member_row(2)]))
    assert response.status_code == 200
    assert response.context["result"].counts["create"] == 2
    assert not Member.objects.exists()
    token = response.context["token"]
    assert (upload_dir / f"{token}.bin").exists()

    response = client.post(reverse("io:import_commit", args=[token]))
    assert response.status_code == 200
    assert Member.objects.count() == 2
    assert not (upload_dir / f"{token}.bin").exists()
    assert "changeset_url" in response.context


def test_preview_lists_errors_with_row_and_column_and_offers_no_commit(client, tree, secretary_a):
    login(client, secretary_a)
    response = upload(client, csv_bytes([member_row(1), member_row(2, **{"sex*": "?"})]))
    content = response.content.decode()
    assert response.context["result"].has_errors
    assert "sex*" in content and ">3<" in content
    assert reverse("io:import_commit", args=[response.context["token"]]) not in content


def test_commit_rechecks_the_stored_file(client, tree, secretary_a):
    login(client, secretary_a)
    token = upload(client, csv_bytes([member_row(1)])).context["token"]
    MemberFactory(organization=tree.branch_b, citizen_id="001190000001")  # recorded elsewhere meanwhile
    response = client.post(reverse("io:import_commit", args=[token]))
    assert response.status_code == 409
    assert Member.objects.count() == 1


def test_another_user_cannot_commit_someone_elses_upload(client, tree, secretary_a, administrator):
    token = upload(login(client, secretary_a), csv_bytes([member_row(1)])).context["token"]
    client.force_login(administrator)
    assert client.post(reverse("io:import_commit", args=[token])).status_code == 404
    assert client.post(reverse("io:import_commit", args=["..%2F..%2Fetc.passwd"])).status_code == 404
    assert not Member.objects.exists()


def test_malformed_upload_shows_its_message(client, tree, secretary_a):
    response = upload(login(client, secretary_a), b"\x89PNG\r\n\x1a\n\x00\x00", name="photo.png")
    assert response.status_code == 400
    assert "not a spreadsheet" in response.content.decode()


def test_secretary_cannot_choose_another_branch(client, tree, secretary_a):
    response = upload(login(client, secretary_a), csv_bytes([member_row(1)]), organization="BR-B")
    assert response.status_code == 400
    assert not Member.objects.exists()


def test_department_staff_cannot_import(client, tree, department):
    assert login(client, department).get(reverse("io:import")).status_code == 403


def test_anonymous_users_are_sent_to_sign_in(client, tree):
    assert client.get(reverse("io:import")).status_code == 302
    assert client.get(reverse("io:export"), {"kind": "members"}).status_code == 302


# Exports ----------------------------------------------------------------------------------


def test_export_honours_scope_and_filters(client, tree, secretary_a):
    MemberFactory(organization=tree.branch_a, full_name="Lê Thị Mai", is_business_owner=True)
    MemberFactory(organization=tree.branch_a, full_name="Phạm Văn Nam")
    MemberFactory(organization=tree.branch_b, full_name="Hidden Person")
    response = login(client, secretary_a).get(
        reverse("io:export"), {"kind": "members", "format": "xlsx", "is_business_owner": "true"}
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][1] == "Lê Thị Mai"
    assert sheet.cell(row=2, column=4).is_date
    assert AccessLog.objects.get().action == "exported"


def test_department_export_masks_citizen_ids(client, tree, department):
    MemberFactory(organization=tree.branch_a, citizen_id="001190001234")
    response = login(client, department).get(reverse("io:export"), {"kind": "members", "format": "csv"})
    text = response.content.decode("utf-8-sig")
    assert "••••••••1234" in text and "001190001234" not in text


def test_headers_follow_the_active_language(client, tree, secretary_a):
    login(client, secretary_a)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("io:export"), {"kind": "members", "format": "csv"})
    assert response.content.decode("utf-8-sig").startswith("citizen ID,full name")


@pytest.mark.parametrize("kind", ["members", "enterprises", "organizations", "mass_organizations", "prospects"])
@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
def test_every_list_exports_in_both_formats(client, tree, department, kind, file_format):
    MemberFactory(organization=tree.branch_a)
    ProspectFactory(organization=tree.branch_b)
    MassOrganizationFactory(enterprise=tree.enterprise_a)
    response = login(client, department).get(reverse("io:export"), {"kind": kind, "format": file_format})
    assert response.status_code == 200
    sheet = read_spreadsheet(response.content)
    assert len(sheet.rows) >= 1


def test_organisation_export_names_parents(client, tree, department):
    response = login(client, department).get(reverse("io:export"), {"kind": "organizations", "format": "csv"})
    rows = read_spreadsheet(response.content).rows
    assert ["BR-A", "DIST"] in [[values[0], values[3]] for _n, values in rows]


def test_export_query_count_does_not_grow_with_rows(client, tree, department, django_assert_max_num_queries):
    login(client, department)
    MemberFactory.create_batch(3, organization=tree.branch_a, enterprise=tree.enterprise_a)
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("io:export"), {"kind": "members"})
    MemberFactory.create_batch(40, organization=tree.branch_a, enterprise=tree.enterprise_a)
    with django_assert_max_num_queries(len(few)):
        client.get(reverse("io:export"), {"kind": "members"})


def test_user_without_role_cannot_export(client, tree):
    from tests.factories import UserFactory

    assert login(client, UserFactory()).get(reverse("io:export"), {"kind": "members"}).status_code == 403


# Change history ---------------------------------------------------------------------------


def test_an_import_is_one_change_set_naming_the_file_and_the_user(client, tree, secretary_a, department):
    import_members(
        csv_bytes([member_row(i) for i in range(1, 4)]),
        organization=tree.branch_a,
        acting_user=secretary_a,
        filename="tháng 6.xlsx",
    )
    response = login(client, department).get(reverse("io:changes"))
    sets = list(response.context["page"])
    imported = [s for s in sets if s["reason"] == "import tháng 6.xlsx"]
    assert len(imported) == 1
    assert imported[0]["user"] == "secretary_a" and imported[0]["total"] == 6  # 3 members + 3 periods

    response = client.get(imported[0]["url"])
    assert response.status_code == 200
    assert response.context["total"] == 6
    assert "Nguyễn Thị Hồng 1" in response.content.decode()


def test_record_history_shows_before_and_after(client, tree, secretary_a, administrator):
    member = MemberFactory(organization=tree.branch_a, citizen_id="001190000001", full_name="Nguyen Hong")
    import_members(
        csv_bytes([member_row(1, **{"Party card number": member.party_card_number, "admitted on*": ""})]),
        organization=tree.branch_a,
        acting_user=secretary_a,
    )
    response = login(client, administrator).get(reverse("io:record_history", args=["member", member.pk]))
    content = response.content.decode()
    assert "Nguyen Hong" in content and "Nguyễn Thị Hồng 1" in content


def test_change_history_is_for_administrators_and_department_staff(client, tree, secretary_a, secretary_b, department):
    member = MemberFactory(organization=tree.branch_a)
    assert login(client, secretary_a).get(reverse("io:changes")).status_code == 403
    client.force_login(department)
    assert client.get(reverse("io:record_history", args=["member", member.pk])).status_code == 200
    assert client.get(reverse("io:record_history", args=["nothing", member.pk])).status_code == 404


def test_department_of_another_committee_sees_neither_the_record_nor_its_change_set(client, tree, secretary_a):
    from branches.choices import RoleKey
    from tests.factories import OrganizationFactory, RoleAssignmentFactory, UserFactory

    other = OrganizationFactory(code="OTHER", parent=tree.city, locality=tree.province)
    outsider = UserFactory(username="other_department")
    RoleAssignmentFactory(user=outsider, role=RoleKey.DEPARTMENT, organization=other)
    import_members(csv_bytes([member_row(1)]), organization=tree.branch_a, acting_user=secretary_a, filename="a.csv")
    login(client, outsider)
    assert [s for s in client.get(reverse("io:changes")).context["page"] if s["reason"] == "import a.csv"] == []
    member = Member.objects.get()
    assert client.get(reverse("io:record_history", args=["member", member.pk])).status_code == 404


# Commands ---------------------------------------------------------------------------------


def test_import_members_command_prints_the_preview_and_writes(tree, secretary_a, tmp_path):
    path = tmp_path / "members.csv"
    path.write_bytes(csv_bytes([member_row(1), member_row(2)]))
    out = io.StringIO()
    call_command("import_members", str(path), org="BR-A", user="secretary_a", stdout=out)
    assert "row 2: create" in out.getvalue() and "row 3: create" in out.getvalue()
    assert Member.objects.count() == 2


def test_import_command_dry_run_writes_nothing(tree, secretary_a, tmp_path):
    path = tmp_path / "members.csv"
    path.write_bytes(csv_bytes([member_row(1)]))
    out = io.StringIO()
    call_command("import_members", str(path), org="BR-A", user="secretary_a", dry_run=True, stdout=out)
    assert "Dry run" in out.getvalue()
    assert not Member.objects.exists()


def test_import_command_exits_non_zero_on_an_error_row_and_writes_nothing(tree, secretary_a, tmp_path):
    path = tmp_path / "members.csv"
    path.write_bytes(csv_bytes([member_row(1), member_row(2, **{"date of birth*": "2090-01-01"})]))
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_members", str(path), org="BR-A", user="secretary_a", stdout=out)
    assert "1 row(s) with errors" in str(caught.value)
    assert "row 3: error" in out.getvalue() and "date of birth*" in out.getvalue()
    assert not Member.objects.exists()


def test_import_command_refuses_an_organisation_outside_the_users_scope(tree, secretary_a, tmp_path):
    path = tmp_path / "members.csv"
    path.write_bytes(csv_bytes([member_row(1)]))
    with pytest.raises(CommandError):
        call_command("import_members", str(path), org="BR-B", user="secretary_a", stdout=io.StringIO())


def test_import_enterprises_command(tree, secretary_a, tmp_path):
    from tests.dataio.test_io_enterprises_import import ENTERPRISE_HEADERS, enterprise_row

    path = tmp_path / "enterprises.csv"
    path.write_bytes(csv_bytes([enterprise_row(1)], ENTERPRISE_HEADERS))
    out = io.StringIO()
    call_command("import_enterprises", str(path), org="BR-A", user="secretary_a", stdout=out)
    assert "row 2: create" in out.getvalue()


def test_import_command_reports_a_malformed_file(tree, secretary_a, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(CommandError) as caught:
        call_command("import_members", str(path), org="BR-A", user="secretary_a", stdout=io.StringIO())
    assert "empty" in str(caught.value)


def test_a_member_admitted_by_import_counts_in_the_reports(tree, secretary_a):
    from reports import rollups

    import_members(
        csv_bytes([member_row(1), member_row(2, **{"admitted on*": "15/03/2024"})]),
        organization=tree.branch_a,
        acting_user=secretary_a,
    )
    assert Member.objects.filter(admitted_on__year=2024).count() == 2
    assert rollups.differences()[0] == 0
    assert datetime.date(2024, 2, 3) in set(Member.objects.values_list("admitted_on", flat=True))


def test_the_member_list_download_link_exports_the_filtered_list(client, tree, department):
    MemberFactory(organization=tree.branch_a, full_name="Đỗ Thị Lan")
    MemberFactory(organization=tree.branch_b, full_name="Vũ Văn Hải")
    login(client, department)
    response = client.get(reverse("branches:member_list"), {"q": "Lan"})
    links = dict(response.context["export_urls"])
    download = client.get(links[".csv"])
    assert download.status_code == 200
    names = [values[1] for _number, values in read_spreadsheet(download.content).rows]
    assert names == ["Đỗ Thị Lan"]


def test_administrator_with_many_organisations_types_the_code(client, tree, administrator, monkeypatch):
    from dataio import views as views_io

    monkeypatch.setattr(views_io, "SELECT_LIMIT", 2)
    login(client, administrator)
    page = client.get(reverse("io:import")).content.decode()
    assert 'type="text" name="organization"' in page
    response = upload(client, csv_bytes([member_row(1)]), organization="BR-B")
    assert response.status_code == 200 and response.context["organization"] == tree.branch_b
