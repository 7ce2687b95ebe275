"""Vietnamese collation (issue 16, deliverable 3): names sort as a Vietnamese reader expects.

Code-point order put "Hoàng" before "Hà" and every "Đ…" after "V…". The key (core.text.sort_key)
is checked against ICU's Vietnamese collation: REFERENCE is the list below as PostgreSQL 15 sorts
it with ``ORDER BY name COLLATE "vi-x-icu"``; on PostgreSQL the test asks the database again.
"""

import random

import pytest
from django.db import connection
from django.urls import reverse

from branches.models import Member
from core.text import sort_key
from enterprises.models import Enterprise
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.factories import EnterpriseFactory
from tests.scoped_views import login, make_member

REFERENCE = [
    "An Phát",
    "Ánh Dương",
    "Anh Tuấn",
    "Ăn Khang",
    "ẩn danh",
    "Âu Cơ",
    "Bùi Viện",
    "Bưu Điện",
    "Bửu Long",
    "Cao Bá Quát",
    "Châu Đốc",
    "Công ty 10",
    "Công ty 9",
    "Dương Thị Hoa",
    "Đặng Văn Lâm",
    "Đỗ Mười",
    "Em",
    "Ê Đê",
    "Hạ Long",
    "Hà Nội",
    "Hà Thị Lan",
    "Hàn Thuyên",
    "Hoàng Văn Nam",
    "ma",
    "Ma",
    "mà",
    "mả",
    "mã",
    "má",
    "mạ",
    "Mạ",
    "Ngô Bảo Châu",
    "Nguyen Thi Hang",
    "Nguyễn Thị Hàng",
    "Nguyễn Thị Hăng",
    "Nguyễn Thị Hằng",
    "Nguyễn Văn A",
    "Nguyễn Văn Ánh",
    "Nguyễn Văn Ấn",
    "Oanh",
    "Ô Chợ Dừa",
    "Ông Ích Khiêm",
    "Ơn Trời",
    "Trần Hưng Đạo",
    "Trương Định",
    "Uông Bí",
    "Út Tịch",
    "Ưng Hoàng Phúc",
    "Vũ Thị Ánh",
    "Xuân Diệu",
    "Yên Bái",
]


def shuffled(items, seed=16):
    items = list(items)
    random.Random(seed).shuffle(items)
    return items


def test_the_key_sorts_like_icu_vietnamese():
    assert sorted(shuffled(REFERENCE), key=sort_key) == REFERENCE


@pytest.mark.django_db
def test_the_reference_is_what_postgresql_icu_says():
    if connection.vendor != "postgresql":
        # SQLite has no ICU: the list above was taken from PostgreSQL's "vi-x-icu" collation.
        assert REFERENCE.index("Hà Nội") < REFERENCE.index("Hoàng Văn Nam")
        return
    with connection.cursor() as cursor:
        cursor.execute('SELECT n FROM unnest(%s::text[]) n ORDER BY n COLLATE "vi-x-icu"', [shuffled(REFERENCE)])
        assert [row[0] for row in cursor.fetchall()] == REFERENCE


def test_alphabet_and_tones():
    order = ["A", "Á", "Ă", "Â", "B", "D", "Đ", "E", "Ê", "O", "Ô", "Ơ", "U", "Ư", "V"]
    assert sorted(shuffled(order), key=sort_key) == order
    tones = ["ma", "mà", "mả", "mã", "má", "mạ"]  # ngang, huyền, hỏi, ngã, sắc, nặng
    assert sorted(shuffled(tones), key=sort_key) == tones
    assert sort_key("Đinh") < sort_key("Vũ") and sort_key("Hà") < sort_key("Hoàng")


def test_the_database_orders_by_the_key_as_python_does(tree):
    members = [make_member(tree.branch_a, full_name=name) for name in shuffled(REFERENCE)]
    assert len(members) == len(REFERENCE)
    assert list(Member.objects.values_list("full_name", flat=True)) == REFERENCE  # the default ordering


def test_member_list_and_api_list_in_vietnamese_order(client, api, tree, secretary_a):
    names = ["Vũ Thị Ánh", "Đặng Văn Lâm", "Hoàng Văn Nam", "Dương Thị Hoa", "Hà Thị Lan", "Ánh Dương"]
    for name in names:
        make_member(tree.branch_a, full_name=name)
    expected = ["Ánh Dương", "Dương Thị Hoa", "Đặng Văn Lâm", "Hà Thị Lan", "Hoàng Văn Nam", "Vũ Thị Ánh"]
    login(client, secretary_a)
    page = client.get(reverse("branches:member_list"))
    assert [row.full_name for row in page.context["table"].data] == expected
    descending = client.get(reverse("branches:member_list"), {"sort": "-full_name"})
    assert [row.full_name for row in descending.context["table"].data] == expected[::-1]
    response = api.secretary_a.get(f"{API}members/")
    assert [row["full_name"] for row in response.json()["results"]] == expected


def test_enterprise_list_in_vietnamese_order(client, department, tree):
    for name in ("Công ty Đông Á", "Công ty Dầu khí", "Công ty Ánh Sao", "Công ty Anh Em"):
        EnterpriseFactory(name=name, locality=tree.commune, managing_committee=tree.committee)
    login(client, department)
    page = client.get(reverse("enterprises:enterprise_list"))
    names = [row.name for row in page.context["table"].data]
    assert names == sorted(names, key=sort_key)
    assert names.index("Công ty Anh Em") < names.index("Công ty Ánh Sao") < names.index("Công ty Dầu khí")
    assert names.index("Công ty Dầu khí") < names.index("Công ty Đông Á")
    assert list(Enterprise.objects.values_list("name", flat=True)) == names
