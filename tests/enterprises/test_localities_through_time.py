"""Localities through time (issue 13): dated states of localities, the restructurings that write
them (rename, move, merge, abolish with effective dates and decisions), an enterprise's locality
as of a date, and the locality tree read as of a date."""

import datetime
from types import SimpleNamespace

import pytest
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from core.dates import today
from core.events import subscribe, unsubscribe
from enterprises import services
from enterprises.choices import LocalityChange, LocalityKind
from enterprises.events import LocalitiesRestructured
from enterprises.models import Enterprise, EnterpriseLocalityPeriod, Locality, LocalityVersion
from enterprises.structure import locality_on, locality_timeline, locality_tree_as_of
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.factories import EnterpriseFactory, LocalityFactory, OrganizationFactory, UserFactory

D = datetime.date
REFORM = D(2025, 7, 1)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def rows(nodes):
    return [(node.locality.code, node.depth, node.name) for node in nodes]


# Dated states ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_locality_never_restructured_is_read_from_todays_row():
    province = LocalityFactory(code="01", name="Hà Nội")
    LocalityFactory(code="00001", name="Phường Nghĩa Đô", kind=LocalityKind.WARD, parent=province)
    assert rows(locality_tree_as_of(Locality.objects.all(), D(1990, 1, 1))) == [
        ("01", 1, "Hà Nội"),
        ("00001", 2, "Phường Nghĩa Đô"),
    ]
    [state] = locality_timeline(province)
    assert (state.name, state.parent, state.valid_to) == ("Hà Nội", None, None)


@pytest.mark.django_db
def test_the_tree_as_of_a_date_reads_the_states_of_that_date():
    province = LocalityFactory(code="01", name="Hà Nội")
    district = LocalityFactory(code="005", name="Quận Cầu Giấy", kind=LocalityKind.DISTRICT, parent=province)
    ward = LocalityFactory(code="00160", name="Phường Nghĩa Đô", kind=LocalityKind.WARD, parent=province)
    LocalityVersion.objects.create(
        locality=ward, parent=district, name="Phường Nghĩa Đô", valid_from=D(1930, 1, 1), valid_to=REFORM,
        change=LocalityChange.ESTABLISHED, end_change=LocalityChange.MOVED,
    )  # fmt: skip
    LocalityVersion.objects.create(
        locality=ward, parent=province, name="Phường Nghĩa Đô", valid_from=REFORM, change=LocalityChange.MOVED
    )
    district.ended_on = REFORM
    district.save()
    LocalityVersion.objects.create(
        locality=district, parent=province, name="Quận Cầu Giấy", valid_from=D(1930, 1, 1), valid_to=REFORM,
        change=LocalityChange.ESTABLISHED, end_change=LocalityChange.ABOLISHED,
    )  # fmt: skip
    before = locality_tree_as_of(Locality.objects.all(), REFORM - datetime.timedelta(days=1))
    assert rows(before) == [("01", 1, "Hà Nội"), ("005", 2, "Quận Cầu Giấy"), ("00160", 3, "Phường Nghĩa Đô")]
    assert rows(locality_tree_as_of(Locality.objects.all(), REFORM)) == [
        ("01", 1, "Hà Nội"),
        ("00160", 2, "Phường Nghĩa Đô"),
    ]
    as_of = {locality.code: locality for locality in Locality.objects.as_of(D(2024, 1, 1))}
    assert as_of["00160"].parent_code_as_of == "005"
    assert as_of["005"].parent_code_as_of == "01"
    assert set(Locality.objects.as_of(REFORM).values_list("code", flat=True)) == {"01", "00160"}
    assert ward.exists_on(D(2024, 1, 1)) and not district.exists_on(REFORM)


# Restructurings ---------------------------------------------------------------------------------


@pytest.fixture
def geography(db):
    """Hà Nội with the district of Cầu Giấy (wards Nghĩa Đô and Nghĩa Tân) and a commune of its own;
    Quảng Ninh; an enterprise in Nghĩa Tân."""
    hanoi = LocalityFactory(code="T01", name="Thành phố Hà Nội")
    district = LocalityFactory(code="T005", name="Quận Cầu Giấy", kind=LocalityKind.DISTRICT, parent=hanoi)
    nghia_do = LocalityFactory(code="T00160", name="Phường Nghĩa Đô", kind=LocalityKind.WARD, parent=district)
    nghia_tan = LocalityFactory(code="T00163", name="Phường Nghĩa Tân", kind=LocalityKind.WARD, parent=district)
    quang_ninh = LocalityFactory(code="T22", name="Tỉnh Quảng Ninh")
    committee = OrganizationFactory(code="HN-CG", locality=hanoi)
    enterprise = EnterpriseFactory(name="Công ty TNHH Nghĩa Tân", locality=nghia_tan, managing_committee=committee)
    return SimpleNamespace(
        hanoi=hanoi,
        district=district,
        nghia_do=nghia_do,
        nghia_tan=nghia_tan,
        quang_ninh=quang_ninh,
        enterprise=enterprise,
    )


def refusal(call, field, contains=None):
    with pytest.raises(ValidationError) as exc:
        call()
    errors = exc.value.message_dict
    assert field in errors, errors
    if contains is not None:
        assert any(contains in message for message in errors[field]), errors[field]
    return errors[field]


def written():
    return (
        LocalityVersion.objects.count(),
        EnterpriseLocalityPeriod.objects.count(),
        list(Locality.objects.order_by("pk").values_list("path", "name", "ended_on")),
        list(Enterprise.objects.values_list("locality_id", "version")),
    )


def test_a_merge_changes_an_enterprises_locality_only_from_its_date(geography, administrator):
    g = geography
    services.merge_localities(
        administrator, [g.nghia_tan], g.nghia_do, on=REFORM, decision_number="1656/NQ-UBTVQH15",
        decision_date=D(2025, 6, 16),
    )  # fmt: skip
    g.enterprise.refresh_from_db()
    g.nghia_tan.refresh_from_db()
    assert g.enterprise.locality == g.nghia_do
    assert g.nghia_tan.ended_on == REFORM
    assert locality_on(g.enterprise, REFORM - datetime.timedelta(days=1)) == g.nghia_tan
    assert locality_on(g.enterprise, REFORM) == g.nghia_do
    annotated = Enterprise.objects.with_locality_on(REFORM - datetime.timedelta(days=1)).get(pk=g.enterprise.pk)
    assert annotated.locality_id_on == g.nghia_tan.pk
    assert Enterprise.objects.with_locality_on(REFORM).get(pk=g.enterprise.pk).locality_id_on == g.nghia_do.pk
    [ended] = LocalityVersion.objects.filter(locality=g.nghia_tan)
    assert (ended.valid_to, ended.end_change, ended.successor, ended.end_decision_number) == (
        REFORM, LocalityChange.MERGED, g.nghia_do, "1656/NQ-UBTVQH15",
    )  # fmt: skip
    assert g.nghia_tan.history.first().history_user == administrator
    before = rows(locality_tree_as_of(Locality.objects.all(), REFORM - datetime.timedelta(days=1)))
    assert ("T00163", 3, "Phường Nghĩa Tân") in before
    assert "T00163" not in [code for code, *_rest in rows(locality_tree_as_of(Locality.objects.all(), REFORM))]


def test_merges_in_a_chain_on_one_day_leave_the_enterprise_in_the_last_successor(geography, administrator):
    g = geography
    services.merge_localities(administrator, [g.nghia_tan], g.nghia_do, on=REFORM)
    new_ward = services.create_locality(
        administrator, code="T00999", name="Phường Mới", kind=LocalityKind.WARD, parent=g.district, on=REFORM
    )
    services.merge_localities(administrator, [g.nghia_do], new_ward, on=REFORM, decision_number="2")
    g.enterprise.refresh_from_db()
    assert locality_on(g.enterprise, REFORM - datetime.timedelta(days=1)) == g.nghia_tan
    assert locality_on(g.enterprise, REFORM) == g.enterprise.locality == new_ward
    assert EnterpriseLocalityPeriod.objects.filter(enterprise=g.enterprise).count() == 2


def test_merging_provinces_moves_their_localities_under_the_successor(geography, administrator):
    g = geography
    services.merge_localities(administrator, [g.hanoi], g.quang_ninh, on=REFORM)
    g.district.refresh_from_db()
    assert Locality.objects.get_parent(g.district) == g.quang_ninh
    parents = {loc.code: loc.parent_code_as_of for loc in Locality.objects.as_of(REFORM - datetime.timedelta(days=1))}
    assert parents["T005"] == "T01"
    assert {loc.code: loc.parent_code_as_of for loc in Locality.objects.as_of(REFORM)}["T005"] == "T22"
    g.enterprise.refresh_from_db()
    assert g.enterprise.locality == g.nghia_tan  # located in a ward, which moved with its district
    assert not EnterpriseLocalityPeriod.objects.exists()


def test_abolishing_a_district_moves_its_communes_up_from_its_date(geography, administrator):
    g = geography
    captured = []
    subscribe(LocalitiesRestructured, captured.append)
    try:
        services.abolish_locality(administrator, g.district, on=REFORM, decision_number="202/2025/QH15")
    finally:
        unsubscribe(LocalitiesRestructured, captured.append)
    g.district.refresh_from_db()
    assert g.district.ended_on == REFORM
    for ward in (g.nghia_do, g.nghia_tan):
        ward.refresh_from_db()
        assert Locality.objects.get_parent(ward) == g.hanoi
    before = rows(locality_tree_as_of(Locality.objects.all(), D(2025, 6, 30)))
    after = rows(locality_tree_as_of(Locality.objects.all(), REFORM))
    assert before[:4] == [
        ("T01", 1, "Thành phố Hà Nội"),
        ("T005", 2, "Quận Cầu Giấy"),
        ("T00160", 3, "Phường Nghĩa Đô"),
        ("T00163", 3, "Phường Nghĩa Tân"),
    ]
    assert after[:3] == [
        ("T01", 1, "Thành phố Hà Nội"),
        ("T00160", 2, "Phường Nghĩa Đô"),
        ("T00163", 2, "Phường Nghĩa Tân"),
    ]
    assert [(e.change, e.locality_ids, e.on, e.into_id) for e in captured] == [
        (LocalityChange.ABOLISHED, (g.district.pk,), REFORM, g.hanoi.pk)
    ]
    [timeline_before, timeline_after] = locality_timeline(g.nghia_do)
    assert (timeline_before.parent, timeline_before.last_day, timeline_after.parent) == (
        g.district, D(2025, 6, 30), g.hanoi,
    )  # fmt: skip


def test_renaming_and_moving_a_locality_keep_the_earlier_state(geography, administrator):
    g = geography
    services.rename_locality(administrator, g.nghia_do, name="Phường Nghĩa Đô mới", on=D(2024, 1, 1))
    services.move_locality(administrator, g.nghia_do, g.hanoi, on=REFORM)
    states = [(s.name, s.parent_id, s.valid_from, s.change) for s in locality_timeline(g.nghia_do)]
    assert states == [
        ("Phường Nghĩa Đô", g.district.pk, D(1930, 1, 1), LocalityChange.ESTABLISHED),
        ("Phường Nghĩa Đô mới", g.district.pk, D(2024, 1, 1), LocalityChange.RENAMED),
        ("Phường Nghĩa Đô mới", g.hanoi.pk, REFORM, LocalityChange.MOVED),
    ]


def test_bad_restructurings_are_refused_at_the_field_with_nothing_written(geography, administrator):
    g = geography
    new_ward = services.create_locality(
        administrator, code="00999", name="Phường Mới", kind=LocalityKind.WARD, parent=g.hanoi, on=D(2025, 1, 1)
    )
    before = written()
    refusal(lambda: services.merge_localities(administrator, [g.nghia_do], g.nghia_do, on=REFORM), "into", "itself")
    refusal(
        lambda: services.merge_localities(administrator, [new_ward], g.nghia_do, on=D(2024, 12, 31)),
        "on",
        "exists only from 01/01/2025",
    )
    refusal(lambda: services.merge_localities(administrator, [g.nghia_tan], g.hanoi, on=REFORM), "into")
    refusal(lambda: services.move_locality(administrator, g.hanoi, g.nghia_do, on=REFORM), "parent")
    refusal(lambda: services.move_locality(administrator, g.quang_ninh, g.nghia_do, on=REFORM), "parent")
    refusal(lambda: services.move_locality(administrator, g.nghia_do, new_ward, on=REFORM), "parent")
    refusal(lambda: services.abolish_locality(administrator, g.nghia_do, on=REFORM), "locality")
    refusal(lambda: services.abolish_locality(administrator, g.district, on=today() + datetime.timedelta(days=1)), "on")
    refusal(
        lambda: services.merge_localities(
            administrator, [g.nghia_tan], g.nghia_do, on=REFORM, decision_date=REFORM + datetime.timedelta(days=1)
        ),
        "decision_date",
    )
    assert written() == before
    services.merge_localities(administrator, [g.nghia_tan], g.nghia_do, on=REFORM)
    refusal(lambda: services.merge_localities(administrator, [g.nghia_tan], g.nghia_do, on=REFORM), "on", "ended")
    with pytest.raises(PermissionDenied):
        services.rename_locality(UserFactory(), g.nghia_do, name="X", on=REFORM)


def test_the_enterprise_page_lists_its_localities_through_time(client, geography, administrator):
    g = geography
    services.merge_localities(administrator, [g.nghia_tan], g.nghia_do, on=REFORM, decision_number="1656/NQ")
    client.force_login(administrator)
    page = client.get(reverse("enterprises:enterprise_detail", args=[g.enterprise.pk])).content.decode()
    # in Vietnamese, the default: "Nghĩa Tân until 30/06/2025", "Nghĩa Đô since 01/07/2025"
    assert "Phường Nghĩa Tân đến 30/06/2025" in page
    assert "Phường Nghĩa Đô từ 01/07/2025 (1656/NQ)" in page


# The locality tree page, the API and the admin ------------------------------------------------------


def tree_rows(response):
    return [(locality.code, locality.indent, locality.name) for locality in response.context["localities"]]


def test_tree_page_as_of_a_date_shows_the_old_rows_before_and_the_new_after(client, geography, administrator):
    g = geography
    services.abolish_locality(administrator, g.district, on=REFORM)
    services.merge_localities(administrator, [g.nghia_tan], g.nghia_do, on=REFORM)
    client.force_login(UserFactory())  # any signed-in user: localities are public geography
    url = reverse("enterprises:locality_tree")
    before = client.get(url, {"as_of": "30/06/2025"})
    assert before.status_code == 200
    assert tree_rows(before) == [
        ("T01", 1, "Thành phố Hà Nội"),
        ("T005", 2, "Quận Cầu Giấy"),
        ("T00160", 3, "Phường Nghĩa Đô"),
        ("T00163", 3, "Phường Nghĩa Tân"),
        ("T22", 1, "Tỉnh Quảng Ninh"),
    ]
    after = client.get(url, {"as_of": "01/07/2025"})
    assert tree_rows(after) == [
        ("T01", 1, "Thành phố Hà Nội"),
        ("T00160", 2, "Phường Nghĩa Đô"),
        ("T22", 1, "Tỉnh Quảng Ninh"),
    ]
    today_page = client.get(url)
    assert ("T005", 2, "Quận Cầu Giấy") in tree_rows(today_page)  # today's tree keeps the ended, marked
    assert "01/07/2025" in today_page.content.decode()
    bad = client.get(url, {"as_of": "30/13/2025"})
    assert bad.status_code == 200 and bad.context["as_of_form"].errors
    client.logout()
    assert client.get(url).status_code == 302


def test_tree_page_queries_do_not_grow_with_the_number_of_changes(
    client, geography, administrator, django_assert_max_num_queries
):
    g = geography
    client.force_login(administrator)
    url = reverse("enterprises:locality_tree")
    with CaptureQueriesContext(connection) as few:
        assert client.get(url, {"as_of": "30/06/2025"}).status_code == 200
    services.abolish_locality(administrator, g.district, on=D(2025, 7, 1))
    services.merge_localities(administrator, [g.nghia_tan], g.nghia_do, on=D(2025, 8, 1))
    services.rename_locality(administrator, g.nghia_do, name="Phường Nghĩa Đô mới", on=D(2025, 9, 1))
    services.merge_localities(administrator, [g.quang_ninh], g.hanoi, on=D(2025, 10, 1))
    for as_of in ("30/06/2025", "15/08/2025", "01/11/2025"):
        with django_assert_max_num_queries(len(few.captured_queries)):
            assert client.get(url, {"as_of": as_of}).status_code == 200


def test_api_lists_localities_as_of_a_date_and_restructures_them(api, geography):
    g = geography
    admin = api.administrator
    abolished = admin.post(f"{API}localities/{g.district.pk}/abolish/", {"on": "2025-07-01"}, format="json")
    assert abolished.status_code == 200, abolished.content
    assert abolished.json()["ended_on"] == "2025-07-01"
    merged = admin.post(
        f"{API}localities/{g.nghia_do.pk}/merge/",
        {"sources": ["T00163"], "on": "2025-07-01", "decision_number": "1656/NQ-UBTVQH15"},
        format="json",
    )
    assert merged.status_code == 200, merged.content
    renamed = admin.post(
        f"{API}localities/{g.nghia_do.pk}/rename/", {"name": "Phường Nghĩa Đô (mới)", "on": "2025-08-01"}, format="json"
    )
    assert renamed.json()["name"] == "Phường Nghĩa Đô (mới)"
    rows = admin.get(f"{API}localities/", {"as_of": "2025-06-30"}).json()["results"]
    assert {row["code"]: (row["parent"], row["name"]) for row in rows if row["code"].startswith("T")} == {
        "T01": (None, "Thành phố Hà Nội"),
        "T005": ("T01", "Quận Cầu Giấy"),
        "T00160": ("T005", "Phường Nghĩa Đô"),
        "T00163": ("T005", "Phường Nghĩa Tân"),
        "T22": (None, "Tỉnh Quảng Ninh"),
    }
    rows = admin.get(f"{API}localities/", {"as_of": "2025-07-01"}).json()["results"]
    assert {row["code"]: (row["parent"], row["name"]) for row in rows if row["code"].startswith("T")} == {
        "T01": (None, "Thành phố Hà Nội"),
        "T00160": ("T01", "Phường Nghĩa Đô"),
        "T22": (None, "Tỉnh Quảng Ninh"),
    }
    assert admin.get(f"{API}localities/", {"as_of": "nonsense"}).status_code == 400
    refused = admin.post(
        f"{API}localities/{g.nghia_do.pk}/merge/", {"sources": ["T00160"], "on": "2025-07-01"}, format="json"
    )
    assert refused.status_code == 400 and "into" in refused.json()
    assert (
        api.secretary_a.post(
            f"{API}localities/{g.quang_ninh.pk}/abolish/", {"on": "2025-07-01"}, format="json"
        ).status_code
        == 403
    )


def test_admin_merges_localities_after_a_preview(client, geography, administrator, settings):
    g = geography
    settings.OTP_REQUIRED_ROLES = ()
    administrator.is_staff = True
    administrator.save()
    client.force_login(administrator)
    changelist = reverse("admin:enterprises_locality_changelist")
    preview = client.post(changelist, {"action": "merge_localities", helpers.ACTION_CHECKBOX_NAME: [g.nghia_tan.pk]})
    assert preview.status_code == 200
    assert preview.context["locality_affected"] == [(g.nghia_tan, 0, 1)]
    assert not LocalityVersion.objects.filter(locality=g.nghia_tan).exists()
    data = {
        "action": "merge_localities",
        helpers.ACTION_CHECKBOX_NAME: [g.nghia_tan.pk],
        "apply": "yes",
        "into": g.nghia_tan.pk,
        "on": "01/07/2025",
    }
    refused = client.post(changelist, data)
    assert refused.status_code == 200 and refused.context["form"].errors["into"]
    assert written_nothing_for(g.nghia_tan)
    client.post(changelist, {**data, "into": g.nghia_do.pk, "decision_number": "1656/NQ"}, follow=True)
    g.nghia_tan.refresh_from_db()
    assert g.nghia_tan.ended_on == REFORM
    g.enterprise.refresh_from_db()
    assert locality_on(g.enterprise, REFORM) == g.nghia_do
    abolish = {"action": "abolish_districts", helpers.ACTION_CHECKBOX_NAME: [g.district.pk], "apply": "yes"}
    client.post(changelist, {**abolish, "on": "01/07/2025"}, follow=True)
    g.nghia_do.refresh_from_db()
    assert Locality.objects.get_parent(g.nghia_do) == g.hanoi


def written_nothing_for(locality):
    locality.refresh_from_db()
    return locality.ended_on is None and not LocalityVersion.objects.filter(locality=locality).exists()


def test_an_enterprise_is_not_recorded_in_a_locality_that_ended(geography, administrator):
    g = geography
    services.merge_localities(administrator, [g.nghia_tan], g.nghia_do, on=REFORM)
    g.nghia_tan.refresh_from_db()
    refusal(
        lambda: services.create_locality(administrator, code="X1", name="Tổ dân phố", kind="ward", parent=g.nghia_tan),
        "parent",
        "does not exist",
    )
    refusal(
        lambda: services.update_enterprise(administrator, g.enterprise, locality=g.nghia_tan),
        "locality",
        "ended on 01/07/2025",
    )
    services.update_enterprise(administrator, g.enterprise, employees=70)  # its locality is in force


def test_a_localitys_page_lists_its_names_and_parents_through_time(client, geography, administrator, secretary_a):
    g = geography
    services.merge_localities(
        administrator, [g.nghia_tan], g.nghia_do, on=REFORM, decision_number="1656/NQ-UBTVQH15",
        decision_date=D(2025, 6, 16),
    )  # fmt: skip
    client.force_login(secretary_a)  # localities are public geography
    page = client.get(reverse("enterprises:locality_detail", args=[g.nghia_tan.pk]))
    assert page.status_code == 200
    text = " ".join(page.content.decode().split())
    assert "30/06/2025" in text and "1656/NQ-UBTVQH15" in text and "Phường Nghĩa Đô" in text
    tree = client.get(reverse("enterprises:locality_tree")).content.decode()
    assert reverse("enterprises:locality_detail", args=[g.nghia_do.pk]) in tree


def test_the_organisations_standing_in_a_merged_or_abolished_locality_pass_to_its_successor(geography, administrator):
    g = geography
    branch = OrganizationFactory(code="HN-CG-NT", locality=g.nghia_tan, established_on=D(2020, 1, 1))
    gone = OrganizationFactory(
        code="HN-CG-OLD", locality=g.nghia_tan, established_on=D(2020, 1, 1), dissolved_on=D(2024, 1, 1)
    )
    district_committee = OrganizationFactory(
        code="HN-CG-Q", locality=g.district, established_on=D(2020, 1, 1), dissolved_on=D(2025, 9, 1)
    )
    services.merge_localities(administrator, [g.nghia_tan], g.nghia_do, on=REFORM)
    services.abolish_locality(administrator, g.district, on=REFORM, decision_number="202/2025/QH15")
    for organization in (branch, gone, district_committee):
        organization.refresh_from_db()
    assert branch.locality == g.nghia_do
    assert gone.locality == g.nghia_tan  # dissolved before: it stood there
    assert district_committee.locality == g.hanoi
    latest = branch.history.first()
    assert latest.history_change_reason == "located in T00160 from 01/07/2025"
    assert branch.history.all()[1].locality_id == g.nghia_tan.pk
