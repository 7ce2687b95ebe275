"""Localities through time (issue 13): dated states of localities, the restructurings that write
them (rename, move, merge, abolish with effective dates and decisions), an enterprise's locality
as of a date, and the locality tree read as of a date."""

import datetime

import pytest
from django.utils import translation

from enterprises.choices import LocalityChange, LocalityKind
from enterprises.models import Locality, LocalityVersion
from enterprises.structure import locality_timeline, locality_tree_as_of
from tests.factories import LocalityFactory

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
