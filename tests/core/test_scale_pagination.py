"""The estimated-count paginator: bounded counting, right "next page", pages past the estimate."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from branches.models import Member
from core.pagination import EstimatedCountPaginator, planner_estimate
from tests.factories import LocalityFactory, MemberFactory


class Small(EstimatedCountPaginator):
    exact_below = 5


@pytest.fixture
def large_table(monkeypatch):
    """The members' table as PostgreSQL measures it: far larger than the sets of these tests."""
    from core import pagination

    monkeypatch.setattr(pagination, "table_rows", lambda queryset: 1_000_000)


@pytest.fixture
def members(tree):
    return [MemberFactory(organization=tree.branch_a, full_name=f"Thành viên {i:02d}") for i in range(23)]


@pytest.mark.django_db
def test_small_sets_are_counted_exactly(members):
    paginator = EstimatedCountPaginator(Member.objects.order_by("full_name"), 10)
    assert paginator.count == 23 and paginator.num_pages == 3 and not paginator.is_estimate
    page = paginator.page(3)
    assert [m.full_name for m in page] == ["Thành viên 20", "Thành viên 21", "Thành viên 22"]
    assert not page.has_next() and page.has_previous()


@pytest.mark.django_db
def test_large_sets_take_the_planner_estimate_on_postgresql_and_count_elsewhere(members):
    paginator = Small(Member.objects.order_by("full_name"), 10)
    with CaptureQueriesContext(connection) as queries:
        count = paginator.count
    sql = [q["sql"] for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        assert paginator.is_estimate
        assert count >= 6  # at least what the bounded count saw
        assert len(sql) == 2 and sql[0].startswith("EXPLAIN") and "LIMIT 6" in sql[1]
        assert planner_estimate(Member.objects.all()) is not None
    else:
        assert count == 23 and not paginator.is_estimate and len(sql) == 1
        assert planner_estimate(Member.objects.all()) is None


@pytest.mark.postgresql
@pytest.mark.django_db
def test_the_planner_is_asked_about_the_keys_alone(members, tree):
    """The estimate plans the filter, not the columns and joins a table shows (same rows)."""
    shown = Member.objects.select_related("organization", "enterprise").filter(organization__path__startswith="0")
    with CaptureQueriesContext(connection) as queries:
        estimate = planner_estimate(shown)
    (sql,) = [q["sql"] for q in queries.captured_queries]
    assert sql.startswith('EXPLAIN (FORMAT json) SELECT "branches_member"."id" AS "pk" FROM')
    assert "enterprises_enterprise" not in sql and "full_name" not in sql
    assert estimate >= 1


@pytest.mark.django_db
def test_the_same_queries_for_a_short_and_a_long_list(tree, large_table):
    def queries_for_first_page():
        paginator = Small(Member.objects.order_by("full_name"), 10)
        with CaptureQueriesContext(connection) as queries:
            paginator.page(1)
            paginator.count  # noqa: B018
        return len(queries.captured_queries)

    MemberFactory(organization=tree.branch_a)
    short = queries_for_first_page()
    for _ in range(30):
        MemberFactory(organization=tree.branch_a)
    assert queries_for_first_page() == short


@pytest.mark.django_db
def test_next_page_comes_from_look_ahead_and_the_last_page_corrects_the_count(members):
    paginator = Small(Member.objects.order_by("full_name"), 10)
    first = paginator.page(1)
    assert first.has_next() and len(first) == 10
    last = paginator.page(3)
    assert not last.has_next() and len(last) == 3
    assert paginator.count == 23 and not paginator.is_estimate


@pytest.mark.django_db
def test_pages_past_the_estimate_are_served_and_empty_ones_refused(members):
    from django.core.paginator import EmptyPage, PageNotAnInteger

    paginator = Small(Member.objects.order_by("full_name"), 2)
    paginator._counted = (4, True)  # an estimate far below the truth
    assert len(paginator.page(11)) == 2
    assert paginator.count >= 23
    with pytest.raises(EmptyPage):
        Small(Member.objects.order_by("full_name"), 10).page(9)
    with pytest.raises(PageNotAnInteger):
        paginator.validate_number("x")


@pytest.mark.django_db
def test_works_under_django_tables2(members, rf):
    import django_tables2 as tables
    from django_tables2 import RequestConfig

    class MemberTable(tables.Table):
        class Meta:
            model = Member
            fields = ("full_name",)

    table = MemberTable(Member.objects.order_by("full_name"))
    RequestConfig(rf.get("/?page=2"), paginate={"paginator_class": Small, "per_page": 10}).configure(table)
    assert [row.record.full_name for row in table.page.object_list][0] == "Thành viên 10"
    assert table.page.has_next()


LIST_PAGES = [
    ("branches:member_list", "branches_member"),
    ("branches:organization_list", "branches_organization"),
    ("branches:prospect_list", "branches_prospect"),
    ("enterprises:enterprise_list", "enterprises_enterprise"),
    ("enterprises:massorganization_list", "enterprises_massorganization"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("url_name", "table"), LIST_PAGES)
def test_list_pages_read_their_page_once_and_never_count_every_row_on_postgresql(
    url_name, table, members, department, client
):
    from django.urls import reverse

    from tests.scoped_views import login

    login(client, department)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(url_name), {"page": 1})
    assert response.status_code == 200
    sql = [q["sql"] for q in queries.captured_queries if f'"{table}"' in q["sql"]]
    pages = [s for s in sql if s.startswith("SELECT") and "COUNT(" not in s and (" LIMIT 26" in s or " LIMIT 51" in s)]
    counts = [s for s in sql if s.startswith("SELECT COUNT(*)")]
    assert len(pages) == 1  # the page, with one row of look-ahead, read once
    assert len(counts) == 1  # one count, by the table's paginator only
    if connection.vendor == "postgresql":
        assert "LIMIT 10001" in counts[0]  # bounded: never an exact COUNT over every row


def test_quick_select_writes_the_same_html_as_djangos_select():
    from django import forms

    from core.renderers import QuickSelect

    flat = [("", "---------"), ("1", 'Hà Nội & "Đông"'), ("2", "<b>Huế</b>"), (2, "again 2"), (None, "none")]
    grouped = [("", "---------"), ("Miền Bắc", [("1", "Hà Nội"), ("3", "Hải Phòng")]), ("2", "Huế")]
    attrs = {"class": "form-select", "id": "id_locality"}
    for choices in (flat, grouped):
        for value in ("", "2", "3", None, 2):
            expected = forms.Select(choices=choices).render("locality", value, attrs=attrs)
            quick = QuickSelect(choices=choices).render("locality", value, attrs=attrs)
            assert quick == expected


@pytest.mark.django_db
def test_the_locality_filter_is_a_picker_showing_only_the_chosen_locality(client, department, tree):
    province = tree.province
    ward = LocalityFactory(code="00002", name="Phường <Ba Đình>", kind="ward", parent=province)
    client.force_login(department)
    response = client.get(reverse("enterprises:enterprise_list"), {"locality": ward.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<option value="{ward.pk}" selected>Phường &lt;Ba Đình&gt;</option>' in html
    assert "Hà Nội</option>" not in html  # the others come from the endpoint as the user types
    assert 'data-autocomplete-url="/enterprises/localities/autocomplete/"' in html


@pytest.mark.django_db
def test_deep_pages_are_read_keys_first_with_the_same_rows_and_order(members):
    queryset = Member.objects.select_related("organization").order_by("-full_name")
    with CaptureQueriesContext(connection) as queries:
        page = Small(queryset, 10).page(2)
    assert [m.full_name for m in page] == [f"Thành viên {i:02d}" for i in range(12, 2, -1)]
    assert page.object_list[0].organization.code == "BR-A"  # select_related kept on the page's rows
    keys = [q["sql"] for q in queries.captured_queries if "OFFSET 10" in q["sql"]]
    assert len(keys) == 1 and keys[0].startswith('SELECT "branches_member"."id"') and "JOIN" not in keys[0]


@pytest.mark.django_db
def test_a_very_large_estimate_is_taken_without_the_bounded_count(members, monkeypatch):
    from core import pagination

    monkeypatch.setattr(pagination, "planner_estimate", lambda queryset: 250_000)
    paginator = EstimatedCountPaginator(Member.objects.order_by("full_name"), 10)
    with CaptureQueriesContext(connection) as queries:
        assert paginator.count == 250_000 and paginator.is_estimate
    assert queries.captured_queries == []  # the estimate only (EXPLAIN, stubbed here): no COUNT
    page = paginator.page(3)  # the last page tells the truth
    assert len(page) == 3 and paginator.count == 23 and not paginator.is_estimate


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["999", "0", "-3", str(10**19)])
def test_a_page_past_an_estimate_too_high_shows_the_last_page(members, monkeypatch, client, department, page):
    """The planner may overestimate a large set: an address outside its real pages (a bookmark, a
    hand-edited ?page=) counts it exactly, and django-tables2 shows the real last page."""
    from django.core.paginator import EmptyPage

    from core import pagination

    monkeypatch.setattr(pagination, "planner_estimate", lambda queryset: 250_000)
    paginator = EstimatedCountPaginator(Member.objects.order_by("full_name"), 10)
    with pytest.raises(EmptyPage):
        paginator.page(999)
    assert paginator.num_pages == 3 and not paginator.is_estimate
    assert [m.full_name for m in paginator.page(3)][-1] == "Thành viên 22"

    client.force_login(department)
    response = client.get(reverse("branches:member_list") + f"?page={page}")
    assert response.status_code == 200
    assert "Thành viên 22" in response.content.decode()


@pytest.mark.parametrize("language", ["vi", "en"])
def test_short_date_column_writes_what_django_tables2s_date_column_writes(language):
    import datetime

    import django_tables2 as tables
    from django.utils import translation

    from core.tables import ShortDateColumn

    class Dates(tables.Table):
        template_column = tables.DateColumn(short=True, accessor="on")
        python_column = ShortDateColumn(accessor="on")

    with translation.override(language):
        rows = list(Dates([{"on": datetime.date(2024, 3, 7)}, {"on": None}]).as_values())
    assert rows[1] == ["2024-03-07", "2024-03-07"]  # exports: isoformat
    with translation.override(language):
        table = Dates([{"on": datetime.date(2024, 3, 7)}, {"on": None}])
        cells = [[row.get_cell("template_column"), row.get_cell("python_column")] for row in table.rows]
    assert cells[0][0] == cells[0][1] and "07" in cells[0][1]
    assert cells[1][0] == cells[1][1]  # the column's default for an empty date


@pytest.mark.django_db
@pytest.mark.parametrize("ordering", [("sort_name", "id"), ("-full_name", "id"), ("organization", "-id")])
def test_the_first_page_of_a_small_set_has_the_rows_and_order_of_the_queryset(members, ordering, large_table):
    """On PostgreSQL a small set's first page is sorted through expressions no index serves
    (``_sorted_apart``); the rows and their order are those of the queryset, also for an
    ordering by a relation, which is left as it is."""
    queryset = Member.objects.order_by(*ordering)
    paginator = EstimatedCountPaginator(queryset, 10)
    with CaptureQueriesContext(connection) as queries:
        page = list(paginator.page(1))
    assert [m.pk for m in page] == [m.pk for m in queryset[:10]]
    if connection.vendor == "postgresql" and ordering[0] != "organization":
        assert "COALESCE" in queries.captured_queries[-1]["sql"]


class KeysFirst(EstimatedCountPaginator):
    sort_keys_from = 5


@pytest.mark.django_db
@pytest.mark.parametrize("ordering", [("sort_name", "id"), ("-full_name", "id"), ("organization", "-id")])
def test_the_first_page_of_a_larger_small_set_is_read_keys_first_with_the_same_rows_and_order(
    members, ordering, large_table
):
    """From ``sort_keys_from`` rows on, a small set's first page sorts the keys alone and reads
    the rows by key (no join of every matching row before the sort): the same rows, the same order."""
    queryset = Member.objects.select_related("organization").order_by(*ordering)
    paginator = KeysFirst(queryset, 10)
    with CaptureQueriesContext(connection) as queries:
        page = list(paginator.page(1))
    assert [m.pk for m in page] == [m.pk for m in queryset[:10]]
    assert page[0].organization.code  # the rows as the queryset reads them, relations joined
    if connection.vendor == "postgresql":
        keys = [q["sql"] for q in queries.captured_queries if " LIMIT 11" in q["sql"]]
        assert len(keys) == 1
        if ordering[0] != "organization":  # sorted by the member's own fields: no join for the keys
            assert '"branches_organization"' not in keys[0]


@pytest.mark.django_db
@pytest.mark.parametrize("table", [23, 46, 47, None])
def test_a_small_set_holding_half_its_table_or_more_is_read_in_the_order_of_its_index(members, monkeypatch, table):
    """A set of at least half its table is read as the queryset orders it (the order's index finds
    the page at once); a smaller share, or a table PostgreSQL has not measured, is sorted apart."""
    from core import pagination

    monkeypatch.setattr(pagination, "table_rows", lambda queryset: table)
    queryset = Member.objects.order_by("sort_name", "id")
    with CaptureQueriesContext(connection) as queries:
        page = list(KeysFirst(queryset, 10).page(1))
    assert [m.pk for m in page] == [m.pk for m in queryset[:10]]
    if connection.vendor == "postgresql":
        sorted_apart = any("COALESCE" in q["sql"] for q in queries.captured_queries)
        assert sorted_apart is (table is None or table > 46)


@pytest.mark.postgresql
@pytest.mark.django_db
def test_a_tables_size_is_read_from_postgresqls_last_measure_and_kept(members, monkeypatch):
    from core import pagination

    monkeypatch.setattr(pagination, "_table_rows", {})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE branches_member")
    assert pagination.table_rows(Member.objects.all()) == 23
    MemberFactory(organization=members[0].organization)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE branches_member")
    with CaptureQueriesContext(connection) as queries:
        assert pagination.table_rows(Member.objects.all()) == 23  # kept
    assert queries.captured_queries == []
    monkeypatch.setattr(pagination, "TABLE_ROWS_SECONDS", -1)
    assert pagination.table_rows(Member.objects.all()) == 24
