"""The restore drill of deploy/README.md, performed for real.

PostgreSQL: ``deploy/backup.sh`` (pg_dump) the test database, create a fresh database,
``deploy/restore.sh`` (pg_restore) into it, and ``deploy/verify_restore.py`` compares every table's
row count and checksum. SQLite: the same with SQLite's online backup API. Both legs run it.
"""

import datetime
import importlib.util
import sqlite3
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection
from django.utils import translation

from branches import services
from branches.choices import RoleKey
from branches.models import Member, MembershipPeriod
from enterprises import services as enterprise_services
from security.models import AccessLog
from tests.factories import EnterpriseFactory, LocalityFactory, OrganizationFactory, RoleAssignmentFactory, UserFactory

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DELETE_ONE_PERIOD = "DELETE FROM branches_membershipperiod WHERE id = (SELECT min(id) FROM branches_membershipperiod)"


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted in English (the default language is Vietnamese), in every thread."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def load_verify_restore():
    spec = importlib.util.spec_from_file_location("verify_restore", DEPLOY / "verify_restore.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


verify_restore = load_verify_restore()


def build_records():
    """A little of everything: tree, enterprises, members with history, a transfer, a mass organisation."""
    province = LocalityFactory(code="22", name="Quảng Ninh")
    committee = OrganizationFactory(
        code="UB-KT", name="Đảng ủy các đơn vị kinh tế ngoài khu vực nhà nước", locality=province
    )
    enterprise = EnterpriseFactory(name="Công ty Cổ phần Cảng Cái Lân", locality=province, managing_committee=committee)
    branch = OrganizationFactory(
        code="CL",
        name="Chi bộ Cái Lân",
        kind="grassroots_branch",
        locality=province,
        enterprise=enterprise,
        parent=committee,
        established_on=datetime.date(2012, 2, 1),
    )
    other = OrganizationFactory(
        code="CL2",
        name="Chi bộ Hạ Long",
        kind="grassroots_branch",
        locality=province,
        parent=committee,
        established_on=datetime.date(2015, 1, 1),
    )
    administrator = UserFactory(username="admin-drill")
    RoleAssignmentFactory(user=administrator, role=RoleKey.ADMINISTRATOR, organization=None)
    members = [
        services.admit_member(
            administrator,
            organization=branch,
            admitted_on=datetime.date(2019, 5, day),
            full_name=f"Phạm Thị {day}",
            sex="female",
            date_of_birth=datetime.date(1990, 1, day),
            citizen_id=f"0221900000{day:02d}",
            party_card_number=f"QN{day:06d}",
            enterprise=enterprise,
        )
        for day in range(1, 8)
    ]
    services.transfer_member(
        administrator,
        members[0],
        on=datetime.date(2023, 1, 1),
        to_organization=other,
        presented_on=datetime.date(2023, 1, 1),
    )
    services.update_member(administrator, members[1], full_name="Phạm Thị Hai", expected_version=1)
    enterprise_services.establish_mass_organization(
        administrator,
        enterprise=enterprise,
        kind="trade_union",
        name="Công đoàn Cái Lân",
        established_on=datetime.date(2020, 1, 1),
        founding_members=40,
    )
    AccessLog.objects.create(
        username="admin-drill", action="exported", member_ids=[m.pk for m in members], filters={"q": "Phạm"}
    )
    return members


def postgres_url(settings_dict, name):
    user = quote(settings_dict["USER"] or "")
    password = quote(settings_dict["PASSWORD"] or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict["HOST"] or "localhost"
    port = settings_dict["PORT"] or "5432"
    return f"postgresql://{auth}{host}:{port}/{name}"


def restore_drill_postgresql(tmp_path):
    source_name = connection.settings_dict["NAME"]
    source_url = postgres_url(connection.settings_dict, source_name)
    dump = tmp_path / "party.dump"
    subprocess.run([DEPLOY / "backup.sh", source_url, str(dump)], check=True, capture_output=True, timeout=300)
    assert dump.stat().st_size > 0
    restored_name = f"{source_name}_restore_{uuid.uuid4().hex[:8]}"
    admin_url = postgres_url(connection.settings_dict, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{restored_name}"')
    try:
        restored_url = postgres_url(connection.settings_dict, restored_name)
        subprocess.run([DEPLOY / "restore.sh", str(dump), restored_url], check=True, capture_output=True, timeout=300)
        with psycopg.connect(source_url) as source, psycopg.connect(restored_url) as restored:
            source_prints = verify_restore.fingerprints(source)
            restored_prints = verify_restore.fingerprints(restored)
            # The drill notices damage: a row lost in the restored copy is reported.
            restored.execute(
                "DELETE FROM branches_membershipperiod WHERE id = (SELECT min(id) FROM branches_membershipperiod)"
            )
            damaged = verify_restore.fingerprints(restored)
            restored.rollback()
        assert verify_restore.main(["verify_restore", source_url, restored_url]) == 0
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)')
    return source_prints, restored_prints, damaged


def restore_drill_sqlite(tmp_path):
    """SQLite's online backup API, read back through plain connections (no Django type converters)."""
    name = connection.settings_dict["NAME"]
    source = sqlite3.connect(name, uri=str(name).startswith("file:"))
    target = sqlite3.connect(tmp_path / "restored.sqlite3")
    try:
        source.backup(target)
        source_prints = verify_restore.fingerprints(source)
        restored_prints = verify_restore.fingerprints(target)
        target.execute(DELETE_ONE_PERIOD)
        damaged = verify_restore.fingerprints(target)
    finally:
        target.close()
        source.close()
    return source_prints, restored_prints, damaged


@pytest.mark.django_db(transaction=True)
def test_backup_restores_every_table_with_equal_row_counts_and_checksums(tmp_path):
    members = build_records()
    if connection.vendor == "postgresql":
        source, restored, damaged = restore_drill_postgresql(tmp_path)
    else:
        source, restored, damaged = restore_drill_sqlite(tmp_path)

    assert verify_restore.differences(source, restored) == []
    assert source == restored
    # Every table of the application is in the drill, with the records just written.
    for model in (Member, MembershipPeriod, AccessLog, Member.history.model):
        assert model._meta.db_table in source
    assert source[Member._meta.db_table][0] == len(members)
    assert source[MembershipPeriod._meta.db_table][0] == len(members) + 1
    assert source["django_migrations"][0] > 0
    assert verify_restore.differences(source, damaged) == [
        f"branches_membershipperiod: {len(members) + 1} rows vs {len(members)} restored, checksums differ"
    ]
