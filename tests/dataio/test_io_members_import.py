"""Members import: preview actions, row/column errors, duplicates, scope, all-or-nothing commit."""

import csv
import datetime
import hashlib
import io
import unicodedata

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branches.models import PERIODS_OF_NEW_MEMBERS, Member, MembershipPeriod
from core.spreadsheets import OutColumn, write_xlsx
from dataio import bulk
from dataio.bulk.members import EDGE_BATCH
from dataio.exports import export_file
from dataio.imports import import_members
from reports.models import StandingCount
from reports.rollups.standing import OWNER_ORGANIZATIONS, TOTAL_DAY
from tests.factories import MemberFactory

HEADERS = ["citizen ID*", "full name*", "sex*", "date of birth*", "admitted on*", "Party card number"]


def member_row(serial, **overrides):
    row = {
        "citizen ID*": f"0011900{serial:05d}",
        "full name*": f"Nguyễn Thị Hồng {serial}",
        "sex*": "nữ",
        "date of birth*": "17/05/1990",
        "admitted on*": "03/02/2024",
        "Party card number": f"PC-{serial:06d}",
    }
    row.update(overrides)
    return row


def csv_bytes(rows, headers=HEADERS, bom=True, delimiter=","):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=headers, delimiter=delimiter, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(rows, headers=HEADERS):
    return write_xlsx([OutColumn(h) for h in headers], [[row.get(h) for h in headers] for row in rows])


def database_state():
    """Row counts and a checksum of every member, period and history row."""
    parts = []
    for queryset in (
        Member.objects.order_by("pk").values_list(),
        MembershipPeriod.objects.order_by("pk").values_list(),
        Member.history.order_by("history_id").values_list(),
        MembershipPeriod.history.order_by("history_id").values_list(),
    ):
        rows = list(queryset)
        parts.append(f"{len(rows)}:{hashlib.sha256(repr(rows).encode()).hexdigest()}")
    return parts


def test_csv_with_bom_and_day_month_year_dates_creates_members(tree, secretary_a):
    result = import_members(
        csv_bytes([member_row(1), member_row(2, **{"admitted on*": "2024-02-03"})]),
        organization=tree.branch_a,
        acting_user=secretary_a,
        filename="đảng viên.csv",
    )
    assert [row.action for row in result.rows] == ["create", "create"]
    assert result.committed and not result.has_errors
    member = Member.objects.get(citizen_id="001190000001")
    assert member.date_of_birth == datetime.date(1990, 5, 17)
    assert member.admitted_on == datetime.date(2024, 2, 3)
    assert member.organization == tree.branch_a and member.admitted_by == tree.branch_a
    assert member.periods.get().started_on == datetime.date(2024, 2, 3)
    assert Member.objects.get(citizen_id="001190000002").admitted_on == datetime.date(2024, 2, 3)


def test_vietnamese_diacritics_are_kept_exactly_and_normalised(tree, secretary_a):
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Hồng Nhung")
    assert decomposed != "Nguyễn Thị Hồng Nhung"
    import_members(
        xlsx_bytes([member_row(1, **{"full name*": decomposed})]), organization=tree.branch_a, acting_user=secretary_a
    )
    assert Member.objects.get().full_name == unicodedata.normalize("NFC", "Nguyễn Thị Hồng Nhung")


def test_real_excel_date_cells_and_numeric_citizen_ids_are_read(tree, secretary_a):
    row = member_row(1, **{"date of birth*": datetime.date(1990, 5, 17), "citizen ID*": 1190000001})
    result = import_members(xlsx_bytes([row]), organization=tree.branch_a, acting_user=secretary_a)
    assert not result.has_errors, result.preview_lines()
    member = Member.objects.get()
    assert member.citizen_id == "001190000001"
    assert member.date_of_birth == datetime.date(1990, 5, 17)


def test_semicolon_separated_csv_without_bom_is_read(tree, secretary_a):
    result = import_members(
        csv_bytes([member_row(1)], bom=False, delimiter=";"), organization=tree.branch_a, acting_user=secretary_a
    )
    assert result.counts["create"] == 1


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
def test_export_then_reimport_gives_only_unchanged(tree, secretary_a, file_format):
    MemberFactory.create_batch(3, organization=tree.branch_a, enterprise=tree.enterprise_a, official_on=None)
    MemberFactory(
        organization=tree.branch_a,
        full_name="Trần Văn Đức",
        is_business_owner=True,
        official_on=datetime.date(2021, 3, 1),
        party_card_number="",
    )
    before = database_state()
    content, _type, filename = export_file("members", secretary_a, file_format=file_format)
    result = import_members(content, organization=tree.branch_a, acting_user=secretary_a, filename=filename)
    assert result.counts == {"create": 0, "update": 0, "unchanged": 4, "error": 0}, result.preview_lines()
    assert database_state() == before


def test_one_bad_row_among_many_writes_nothing_and_names_row_and_column(tree, secretary_a):
    rows = [member_row(i) for i in range(1, 51)]
    rows[36]["date of birth*"] = "31/02/1990"
    before = database_state()
    result = import_members(csv_bytes(rows), organization=tree.branch_a, acting_user=secretary_a)
    assert result.has_errors and not result.committed
    bad = [row for row in result.rows if row.errors]
    assert [row.number for row in bad] == [38]  # the header is row 1: the 37th data row is row 38
    assert bad[0].errors[0].column == "date of birth*"
    assert "31/02/1990" in bad[0].errors[0].message
    assert result.counts["create"] == 49
    assert database_state() == before


def test_a_rule_error_on_a_late_row_writes_nothing_and_reports_what_a_dry_run_reports(tree, secretary_a):
    # PostgreSQL begins writing the new members while it checks the rows: all must go.
    member = MemberFactory(organization=tree.branch_a, citizen_id="001190000003", full_name="Nguyen Thi Hong")
    rows = [member_row(i) for i in range(1, 61)]
    rows[2].update({"admitted on*": "", "Party card number": member.party_card_number})  # an update
    rows[44]["admitted on*"] = "01/01/2099"  # only the admission rules refuse it
    before = database_state()
    preview = import_members(csv_bytes(rows), organization=tree.branch_a, acting_user=secretary_a, dry_run=True)
    result = import_members(csv_bytes(rows), organization=tree.branch_a, acting_user=secretary_a)
    assert result.has_errors and not result.committed
    assert result.preview_lines() == preview.preview_lines()
    assert [row.number for row in result.rows if row.errors] == [46]
    assert result.counts == {"create": 58, "update": 1, "unchanged": 0, "error": 1}
    assert database_state() == before
    member.refresh_from_db()
    assert member.full_name == "Nguyen Thi Hong"


def admission_item(serial, **overrides):
    values = {
        "citizen_id": f"0011900{serial:05d}",
        "full_name": f"Nguyễn Thị Hồng {serial}",
        "sex": "female",
        "date_of_birth": datetime.date(1990, 5, 17),
        "admitted_on": datetime.date(2024, 2, 3),
        "party_card_number": f"PC-{serial:06d}",
        **overrides,
    }
    return bulk.Item(values=values, given=frozenset(values))


def test_members_checked_before_a_refused_row_are_left_unsaved(tree, secretary_a):
    """The members written while the rows are checked (PostgreSQL) are taken back with their ids."""
    items = [admission_item(i) for i in range(1, 31)]
    items[20].values["admitted_on"] = datetime.date(2099, 1, 1)
    before = database_state()
    bulk.import_members(secretary_a, organization=tree.branch_a, items=items, reason="import")
    assert [item.action for item in items].count(bulk.ERROR) == 1
    created = [item.instance for item in items if item.action == bulk.CREATE]
    assert len(created) == 29
    assert all(member.pk is None and member._state.adding for member in created)
    assert database_state() == before
    # The same items, corrected, are then admitted with ids of their own.
    items[20] = admission_item(21)
    bulk.import_members(secretary_a, organization=tree.branch_a, items=items, reason="import")
    assert not bulk.has_errors(items)
    ids = [item.instance.pk for item in items]
    assert None not in ids and len(set(ids)) == 30
    assert Member.objects.filter(pk__in=ids, organization=tree.branch_a).count() == 30
    assert MembershipPeriod.objects.filter(member_id__in=ids, organization=tree.branch_a).count() == 30


def test_an_import_of_several_batches_writes_all_or_nothing(tree, secretary_a):
    """More admissions than a batch (PostgreSQL writes them in batches while checking): a refused
    row in the last batch leaves nothing of the earlier ones; corrected, every member is written
    with its first period and the history of both."""
    count = 2 * EDGE_BATCH + 600
    items = [admission_item(i) for i in range(1, count + 1)]
    items[-3].values["admitted_on"] = datetime.date(2099, 1, 1)
    before = database_state()
    bulk.import_members(secretary_a, organization=tree.branch_a, items=items, reason="import")
    assert [item.action for item in items].count(bulk.ERROR) == 1
    assert database_state() == before
    items = [admission_item(i) for i in range(1, count + 1)]
    bulk.import_members(secretary_a, organization=tree.branch_a, items=items, reason="import")
    ids = [item.instance.pk for item in items]
    assert None not in ids and len(set(ids)) == count
    assert Member.objects.filter(pk__in=ids, organization=tree.branch_a).count() == count
    assert MembershipPeriod.objects.filter(member_id__in=ids, organization=tree.branch_a).count() == count
    assert Member.history.filter(id__in=ids, history_type="+").count() == count
    assert MembershipPeriod.history.filter(member_id__in=ids, history_type="+").count() == count


def test_business_owners_imported_are_counted_in_the_structure(tree, secretary_a):
    """The standing counts of an import count its business owners (members owning the enterprise
    they work in) and flag their organisation; the end-of-test recount checks every figure."""
    headers = [*HEADERS, "workplace enterprise tax code", "position", "business owner"]
    owner = {"workplace enterprise tax code": tree.enterprise_a.tax_code, "position": "owner", "business owner": "yes"}
    worker = {"workplace enterprise tax code": tree.enterprise_a.tax_code, "position": "worker", "business owner": ""}
    rows = [member_row(1, **owner), member_row(2, **worker), member_row(3, **owner)]
    before = standing_figures(tree.branch_a)
    assert before[OWNER_ORGANIZATIONS] == 0
    result = import_members(
        csv_bytes(rows, headers=headers), organization=tree.branch_a, acting_user=secretary_a, filename="owners.csv"
    )
    assert result.committed and not result.has_errors
    after = standing_figures(tree.branch_a)
    assert after["members"] - before["members"] == 3
    assert after["business_owners"] - before["business_owners"] == 2
    assert after[OWNER_ORGANIZATIONS] == 1


def standing_figures(organization):
    """What stands in ``organization`` after every change, by figure (its standing counts' totals)."""
    totals = StandingCount.objects.filter(organization=organization, day=TOTAL_DAY).values_list("metric", "value")
    return {"members": 0, "business_owners": 0, OWNER_ORGANIZATIONS: 0, **dict(totals)}


@pytest.mark.postgresql
def test_an_import_checks_its_first_periods_without_locking_its_new_members(tree, secretary_a):
    """The new members' first periods are COPYed with the overlap trigger told they are new (no row
    lock per member), and the setting is off again once they are written."""
    result = import_members(
        csv_bytes([member_row(1), member_row(2)]), organization=tree.branch_a, acting_user=secretary_a, filename="a.csv"
    )
    assert result.committed
    citizen_ids = [member_row(1)["citizen ID*"], member_row(2)["citizen ID*"]]
    new = list(Member.objects.filter(citizen_id__in=citizen_ids).values_list("pk", flat=True))
    assert len(new) == 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmax::text FROM branches_member WHERE id = ANY(%s)", [new])
        assert {xmax for (xmax,) in cursor.fetchall()} == {"0"}
        cursor.execute("SELECT current_setting(%s, true)", [PERIODS_OF_NEW_MEMBERS])
        assert cursor.fetchone()[0] == ""
    assert MembershipPeriod.objects.filter(member__in=new).count() == 2


def test_rule_errors_of_admit_member_are_reported_per_row(tree, secretary_a):
    rows = [
        member_row(1, **{"date of birth*": "01/01/2010"}),  # under 18 at admission
        member_row(2, **{"citizen ID*": "12345"}),
        member_row(3, **{"admitted on*": "01/01/2099"}),
        member_row(4, **{"sex*": "robot"}),
    ]
    result = import_members(csv_bytes(rows), organization=tree.branch_a, acting_user=secretary_a)
    errors = {row.number: {error.column for error in row.errors} for row in result.rows}
    assert errors == {2: {"date of birth*"}, 3: {"citizen ID*"}, 4: {"admitted on*"}, 5: {"sex*"}}
    assert not Member.objects.exists()


def test_existing_citizen_id_updates_the_member_instead_of_adding_one(tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a, citizen_id="001190000001", full_name="Nguyen Thi Hong")
    result = import_members(
        csv_bytes([member_row(1, **{"Party card number": member.party_card_number, "admitted on*": ""})]),
        organization=tree.branch_a,
        acting_user=secretary_a,
        filename="sửa tên.csv",
    )
    assert [row.action for row in result.rows] == ["update"], result.preview_lines()
    assert result.rows[0].changes[0][1:] == ("Nguyen Thi Hong", "Nguyễn Thị Hồng 1")
    member.refresh_from_db()
    assert member.full_name == "Nguyễn Thị Hồng 1" and member.version == 2
    assert Member.objects.count() == 1
    latest = member.history.first()
    assert latest.history_user == secretary_a and latest.history_change_reason == "import sửa tên.csv"


def test_party_card_number_finds_the_member_when_the_citizen_id_changed(tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a, citizen_id="001190099999", party_card_number="PC-000001")
    result = import_members(
        csv_bytes([member_row(1, **{"full name*": member.full_name, "admitted on*": ""})]),
        organization=tree.branch_a,
        acting_user=secretary_a,
    )
    assert [row.action for row in result.rows] == ["update"], result.preview_lines()
    member.refresh_from_db()
    assert member.citizen_id == "001190000001"


def test_lifecycle_facts_are_not_changed_by_an_import(tree, secretary_a):
    MemberFactory(organization=tree.branch_a, citizen_id="001190000001", party_card_number="PC-000001")
    result = import_members(
        csv_bytes([member_row(1, **{"admitted on*": "01/01/2023"})]),
        organization=tree.branch_a,
        acting_user=secretary_a,
    )
    assert result.rows[0].action == "error"
    assert result.rows[0].errors[0].column == "admitted on*"


def test_duplicates_inside_the_file_are_reported_on_both_rows(tree, secretary_a):
    rows = [member_row(1), member_row(2), member_row(3, **{"citizen ID*": "001190000001"})]
    result = import_members(csv_bytes(rows), organization=tree.branch_a, acting_user=secretary_a)
    flagged = {row.number: [error.column for error in row.errors] for row in result.rows if row.errors}
    assert flagged == {2: ["citizen ID*"], 4: ["citizen ID*"]}
    assert "4" in result.rows[0].errors[0].message
    assert not Member.objects.exists()


def test_duplicate_party_card_numbers_inside_the_file_are_reported(tree, secretary_a):
    rows = [member_row(1), member_row(2, **{"Party card number": "PC-000001"})]
    result = import_members(csv_bytes(rows), organization=tree.branch_a, acting_user=secretary_a)
    assert [[e.column for e in row.errors] for row in result.rows] == [["Party card number"]] * 2


def test_secretary_cannot_import_into_another_branch(tree, secretary_a):
    with pytest.raises(PermissionDenied):
        import_members(csv_bytes([member_row(1)]), organization=tree.branch_b, acting_user=secretary_a)
    assert not Member.objects.exists()


def test_department_staff_cannot_import(tree, department):
    with pytest.raises(PermissionDenied):
        import_members(csv_bytes([member_row(1)]), organization=tree.committee, acting_user=department)


def test_rows_naming_an_organisation_outside_the_scope_are_refused(tree, secretary_a):
    headers = [*HEADERS, "organisation code"]
    rows = [member_row(1, **{"organisation code": "BR-B"}), member_row(2, **{"organisation code": "BR-A"})]
    result = import_members(csv_bytes(rows, headers), organization=tree.branch_a, acting_user=secretary_a)
    assert [row.action for row in result.rows] == ["error", "create"]
    assert result.rows[0].errors[0].column == "organisation code"
    assert not Member.objects.exists()


def test_a_member_of_another_branch_is_not_updated(tree, secretary_a):
    MemberFactory(organization=tree.branch_b, citizen_id="001190000001")
    result = import_members(csv_bytes([member_row(1)]), organization=tree.branch_a, acting_user=secretary_a)
    assert result.rows[0].action == "error"
    assert result.rows[0].errors[0].column == "citizen ID*"
    assert Member.objects.get().organization == tree.branch_b


def test_dry_run_writes_nothing(tree, secretary_a):
    result = import_members(
        csv_bytes([member_row(1)]), organization=tree.branch_a, acting_user=secretary_a, dry_run=True
    )
    assert result.counts["create"] == 1 and not result.committed
    assert not Member.objects.exists()


def test_interrupted_import_leaves_the_database_exactly_as_before(tree, secretary_a, monkeypatch):
    MemberFactory.create_batch(2, organization=tree.branch_a)
    before = database_state()

    def fail_after_members_and_periods(event):
        """The first announcement, once the members and their periods are written."""
        ids = Member.objects.filter(citizen_id__startswith="0011900").values_list("pk", flat=True)
        assert len(ids) == 29 and MembershipPeriod.objects.filter(member__in=ids).count() == 29
        raise RuntimeError("disk full")

    monkeypatch.setattr(bulk.members, "publish", fail_after_members_and_periods)
    with pytest.raises(RuntimeError):
        import_members(
            csv_bytes([member_row(i) for i in range(1, 30)]), organization=tree.branch_a, acting_user=secretary_a
        )
    assert database_state() == before


def test_ten_thousand_rows_import_in_one_transaction_with_a_constant_number_of_queries(tree, secretary_a):
    small = csv_bytes([member_row(i) for i in range(1, 11)])
    big = csv_bytes([member_row(i, **{"citizen ID*": f"0791{i:08d}", "Party card number": ""}) for i in range(10_000)])
    with CaptureQueriesContext(connection) as small_queries:
        assert import_members(small, organization=tree.branch_a, acting_user=secretary_a).committed
    with CaptureQueriesContext(connection) as big_queries:
        result = import_members(big, organization=tree.branch_a, acting_user=secretary_a, filename="big.csv")
    assert result.committed, result.preview_lines()[:5]
    assert result.counts["create"] == 10_000
    assert Member.objects.filter(organization=tree.branch_a).count() == 10_010
    assert MembershipPeriod.objects.filter(member__citizen_id__startswith="0791").count() == 10_000
    assert Member.history.filter(history_change_reason="import big.csv", history_user=secretary_a).count() == 10_000
    assert Member.history.filter(history_change_reason="import big.csv").values("history_date").distinct().count() == 1
    # The IN (...) look-ups are chunked; nothing is done per row.
    chunks = -(-10_000 // bulk.LOOKUP_CHUNK)
    assert len(big_queries) <= len(small_queries) + 2 * chunks + 2, [q["sql"][:80] for q in big_queries]
    inserts = [q for q in big_queries if q["sql"].lstrip().upper().startswith(("INSERT", "COPY"))]
    assert len(inserts) <= 6


def test_the_generated_sample_file_imports_cleanly(tree, secretary_a):
    from dataio.imports import sample_members_file

    result = import_members(sample_members_file(50), organization=tree.branch_a, acting_user=secretary_a)
    assert result.counts["create"] == 50, result.preview_lines()[:3]
