"""Enterprises and membership returns import: tax-code matching, scope, the services' rules."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied

from core.validators import tax_code_for
from dataio.enterprise_imports import import_enterprises, import_returns
from dataio.exports import export_file
from enterprises.models import Enterprise, MembershipReturn
from tests.dataio.test_io_members_import import csv_bytes
from tests.factories import EnterpriseFactory, MassOrganizationFactory, MembershipReturnFactory

ENTERPRISE_HEADERS = ["tax code", "name", "ownership", "locality code", "size class", "employees"]


def enterprise_row(serial, **overrides):
    row = {
        "tax code": tax_code_for(7_000_000 + serial * 17),
        "name": f"Công ty TNHH Hưng Thịnh {serial}",
        "ownership": "private domestic",
        "locality code": "00001",
        "size class": "small",
        "employees": "120",
    }
    row.update(overrides)
    return row


def test_enterprises_are_created_under_the_nearest_committee(tree, secretary_a):
    result = import_enterprises(
        csv_bytes([enterprise_row(1), enterprise_row(2)], ENTERPRISE_HEADERS),
        organization=tree.branch_a,
        acting_user=secretary_a,
        filename="dn.csv",
    )
    assert result.counts["create"] == 2, result.preview_lines()
    enterprise = Enterprise.objects.get(name="Công ty TNHH Hưng Thịnh 1")
    assert enterprise.managing_committee == tree.committee
    assert enterprise.recorded_by == tree.branch_a
    assert enterprise.locality == tree.commune and enterprise.employees == 120
    assert enterprise.history.get().history_change_reason == "import dn.csv"


def test_existing_tax_code_updates_the_enterprise(tree, secretary_a):
    row = enterprise_row(1, **{"tax code": tree.enterprise_a.tax_code, "name": "Công ty Cổ phần An Phát Mới"})
    result = import_enterprises(
        csv_bytes([row], ENTERPRISE_HEADERS), organization=tree.branch_a, acting_user=secretary_a
    )
    assert [r.action for r in result.rows] == ["update"], result.preview_lines()
    tree.enterprise_a.refresh_from_db()
    assert tree.enterprise_a.name == "Công ty Cổ phần An Phát Mới"
    assert Enterprise.objects.count() == 2


def test_invalid_tax_code_and_duplicates_in_the_file_are_reported(tree, secretary_a):
    rows = [enterprise_row(1, **{"tax code": "0100109107"}), enterprise_row(2), enterprise_row(2)]
    result = import_enterprises(
        csv_bytes(rows, ENTERPRISE_HEADERS), organization=tree.branch_a, acting_user=secretary_a
    )
    assert [[e.column for e in r.errors] for r in result.rows] == [["tax code"], ["tax code"], ["tax code"]]
    assert Enterprise.objects.count() == 2


def test_unknown_locality_and_foreign_committee_are_refused(tree, secretary_a):
    headers = [*ENTERPRISE_HEADERS, "managing committee code"]
    rows = [
        enterprise_row(1, **{"locality code": "99999", "managing committee code": "DIST"}),
        enterprise_row(2, **{"managing committee code": "BR-B"}),
    ]
    result = import_enterprises(csv_bytes(rows, headers), organization=tree.branch_a, acting_user=secretary_a)
    assert [[e.column for e in r.errors] for r in result.rows] == [["locality code"], ["managing committee code"]]


def test_enterprise_of_another_branch_is_not_updated(tree, secretary_b):
    other = EnterpriseFactory(managing_committee=tree.city, locality=tree.commune)
    row = enterprise_row(1, **{"tax code": other.tax_code})
    result = import_enterprises(
        csv_bytes([row], ENTERPRISE_HEADERS), organization=tree.branch_b, acting_user=secretary_b
    )
    assert result.rows[0].action == "error" and result.rows[0].errors[0].column == "tax code"


def test_department_staff_cannot_import_enterprises(tree, department):
    with pytest.raises(PermissionDenied):
        import_enterprises(
            csv_bytes([enterprise_row(1)], ENTERPRISE_HEADERS), organization=tree.committee, acting_user=department
        )


def test_enterprises_export_then_reimport_gives_only_unchanged(tree, administrator):
    content, _type, _name = export_file("enterprises", administrator, file_format="xlsx")
    result = import_enterprises(content, organization=tree.committee, acting_user=administrator)
    assert result.counts == {"create": 0, "update": 0, "unchanged": 2, "error": 0}, result.preview_lines()


RETURN_HEADERS = [
    "enterprise tax code",
    "kind",
    "date",
    "members in total",
    "members admitted since the previous return",
]


def test_membership_returns_are_recorded_with_the_services_rules(tree, secretary_a):
    union = MassOrganizationFactory(enterprise=tree.enterprise_a, established_on=datetime.date(2024, 3, 1))
    MembershipReturnFactory(mass_organization=union)
    rows = [
        {RETURN_HEADERS[0]: tree.enterprise_a.tax_code, "kind": "công đoàn", "date": "30/06/2024",
         RETURN_HEADERS[3]: "35", RETURN_HEADERS[4]: "15"},
        {RETURN_HEADERS[0]: tree.enterprise_a.tax_code, "kind": "trade union", "date": "01/02/2024",
         RETURN_HEADERS[3]: "35", RETURN_HEADERS[4]: "0"},
        {RETURN_HEADERS[0]: tree.enterprise_a.tax_code, "kind": "youth union", "date": "30/06/2024",
         RETURN_HEADERS[3]: "5", RETURN_HEADERS[4]: "5"},
    ]  # fmt: skip
    result = import_returns(csv_bytes(rows, RETURN_HEADERS), organization=tree.branch_a, acting_user=secretary_a)
    assert [r.action for r in result.rows] == ["create", "error", "error"]
    assert result.rows[1].errors[0].column == "date"  # before the founding
    assert result.rows[2].errors[0].column == "kind"  # no youth union there
    assert MembershipReturn.objects.count() == 1

    result = import_returns(csv_bytes(rows[:1], RETURN_HEADERS), organization=tree.branch_a, acting_user=secretary_a)
    assert result.committed and MembershipReturn.objects.count() == 2
    again = import_returns(csv_bytes(rows[:1], RETURN_HEADERS), organization=tree.branch_a, acting_user=secretary_a)
    assert [r.action for r in again.rows] == ["unchanged"]
    from reports import rollups

    assert rollups.differences()[0] == 0  # the reports count the imported return


def test_returns_of_another_branchs_enterprise_are_refused(tree, secretary_b):
    union = MassOrganizationFactory(enterprise=tree.enterprise_a, established_on=datetime.date(2024, 3, 1))
    MembershipReturnFactory(mass_organization=union)
    row = {RETURN_HEADERS[0]: tree.enterprise_a.tax_code, "kind": "công đoàn", "date": "30/06/2024",
           RETURN_HEADERS[3]: "35", RETURN_HEADERS[4]: "15"}  # fmt: skip
    result = import_returns(csv_bytes([row], RETURN_HEADERS), organization=tree.branch_b, acting_user=secretary_b)
    assert result.rows[0].action == "error"
    assert MembershipReturn.objects.count() == 1


def test_an_enterprise_with_a_branch_is_not_moved_to_another_province(tree, secretary_a):
    from enterprises.choices import LocalityKind
    from tests.factories import LocalityFactory

    other = LocalityFactory(code="22", name="Quảng Ninh")
    LocalityFactory(code="22001", name="Phường Hạ Long", kind=LocalityKind.WARD, parent=other)
    moved = enterprise_row(1, **{"tax code": tree.enterprise_a.tax_code, "name": tree.enterprise_a.name})
    moved["locality code"] = "22001"
    result = import_enterprises(
        csv_bytes([moved], ENTERPRISE_HEADERS), organization=tree.branch_a, acting_user=secretary_a
    )
    assert not result.committed
    [row] = result.rows
    assert [(e.column, "(BR-A)" in e.message) for e in row.errors] == [("locality code", True)]
    tree.enterprise_a.refresh_from_db()
    assert tree.enterprise_a.locality == tree.commune
