"""The table body written in Python (core.lean_tables) writes the cells django-tables2's own
row loop writes: links, choice labels, render_FOO methods, booleans, dates, defaults, escaping."""

import datetime
import re

import django_tables2 as tables
import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import translation

from branches.models import Member, Organization
from branches.tables import MemberTable, OrganizationTable
from core.lean_tables import render_rows
from enterprises.models import Enterprise
from enterprises.tables import EnterpriseTable
from tests.factories import MemberFactory

#: django-tables2's own row loop (its bootstrap templates' tbody block), as the reference.
STOCK_ROWS = Template(
    "{% for row in table.paginated_rows %}<tr {{ row.attrs.as_html }}>{% for column, cell in row.items %}"
    "<td {{ column.attrs.td.as_html }}>{{ cell }}</td>{% endfor %}</tr>{% endfor %}"
)


def stock_rows(table):
    return STOCK_ROWS.render(Context({"table": table}))


def lean_rows(table):
    return render_rows(table, Context({"table": table}))


def paginated(table_class, queryset, **kwargs):
    table = table_class(queryset, **kwargs)
    table.paginate(page=1, per_page=25)
    return table


@pytest.fixture
def members(tree):
    tree.enterprise_a.name = "Công ty <A&B>"  # a plain (not linked) cell
    tree.enterprise_a.save()
    MemberFactory(
        organization=tree.branch_a,
        full_name="Trần <Thị> & Hoa",
        is_business_owner=True,
        enterprise=tree.enterprise_a,
        admitted_on=datetime.date(2023, 4, 5),
        official_on=datetime.date(2024, 4, 5),
    )
    MemberFactory(organization=tree.branch_b, party_card_number="", enterprise=None)
    return Member.objects.select_related("organization", "enterprise").order_by("pk")


@pytest.mark.parametrize("language", ["vi", "en"])
def test_member_rows_match_django_tables2(members, language):
    with translation.override(language):
        lean, stock = lean_rows(paginated(MemberTable, members)), stock_rows(paginated(MemberTable, members))
    assert lean == stock
    assert "Trần &lt;Thị&gt; &amp; Hoa" in lean  # escaped once, by the link
    assert "Công ty &lt;A&amp;B&gt;" in lean  # escaped by the cell
    assert f'href="/members/{members[0].pk}/"' in lean  # linkify
    assert lean.count("<tr ") == 2


def test_rows_alternate_odd_and_even_like_django_tables2(members):
    rows = lean_rows(paginated(MemberTable, members))
    assert re.findall(r'<tr class="(\w+)"', rows) == ["even", "odd"]


@pytest.mark.parametrize(
    "row_attrs, written",
    [
        (
            {"class": lambda record: "owner" if record.is_business_owner else "", "data-id": lambda record: record.pk},
            'class="owner even" data-id="',
        ),
        ({"class": "fixed", "id": lambda record: f"m{record.pk}", "title": 'a "b" <c>'}, 'class="fixed even" id="m'),
    ],
)
def test_row_attributes_of_a_table_that_sets_them_match_django_tables2(members, row_attrs, written):
    lean = lean_rows(paginated(MemberTable, members, row_attrs=row_attrs))
    assert lean == stock_rows(paginated(MemberTable, members, row_attrs=row_attrs))
    assert f"<tr {written}" in lean


def test_render_methods_with_record_and_value_match(tree):
    organizations = Organization.objects.select_related("enterprise").order_by("path")
    lean = lean_rows(paginated(OrganizationTable, organizations, top_depth=2))
    assert lean == stock_rows(paginated(OrganizationTable, organizations, top_depth=2))
    assert 'class="tree-indent tree-depth-2"' in lean  # render_name(record, value) of a branch


def test_enterprise_rows_with_counts_and_choices_match(tree):
    enterprises = Enterprise.objects.select_related("locality", "managing_committee").order_by("pk")
    with translation.override("vi"):
        assert lean_rows(paginated(EnterpriseTable, enterprises)) == stock_rows(paginated(EnterpriseTable, enterprises))


def test_a_render_function_missing_an_argument_renders_nothing_as_django_tables2_does(members):
    class Odd(tables.Table):
        full_name = tables.Column()

        def render_full_name(self, value, bound_row, unknown):  # "unknown" is never passed
            return "never"

        class Meta:
            model = Member
            fields = ("full_name",)

    lean = lean_rows(paginated(Odd, members))
    assert lean == stock_rows(paginated(Odd, members))
    assert "never" not in lean


def test_paths_callables_and_missing_attributes_read_as_django_tables2_reads_them(members):
    class Mixed(tables.Table):
        organization_code = tables.Column(accessor="organization__code")
        status_label = tables.Column(accessor="get_status_display")  # a method: called
        missing = tables.Column(accessor="no_such_attribute", default="—")
        enterprise = tables.Column()  # a relation, empty on the second member
        official_on = tables.DateColumn()  # a date, empty on the second member

        class Meta:
            model = Member
            fields = ()

    with translation.override("en"):
        lean, stock = lean_rows(paginated(Mixed, members)), stock_rows(paginated(Mixed, members))
    assert lean == stock
    assert "<td >BR-A</td><td >active</td><td >—</td>" in lean


def test_the_readers_decided_for_one_table_follow_the_record_type(members, tree):
    """A bound column keeps its reader per record type (a table of other records reads anew)."""
    table = paginated(MemberTable, members)
    lean_rows(table)
    organizations = Organization.objects.order_by("path")
    other = paginated(OrganizationTable, organizations)
    assert lean_rows(other) == stock_rows(paginated(OrganizationTable, organizations))


def test_an_empty_page_writes_no_rows(db):
    assert lean_rows(paginated(MemberTable, Member.objects.none())) == ""


def test_the_list_page_shows_the_empty_text_when_nothing_matches(client, department):
    client.force_login(department)
    client.cookies["django_language"] = "en"
    response = client.get("/members/", {"q": "no such member at all"})
    assert response.status_code == 200
    assert "No members match." in response.content.decode()


def test_a_request_context_renders_the_same_cells(members, rf: RequestFactory):
    from django.template import RequestContext

    table = paginated(MemberTable, members)
    request = rf.get("/members/")
    assert render_rows(table, RequestContext(request, {})) == stock_rows(paginated(MemberTable, members))


def test_a_model_s_own_choice_label_method_is_called(members, monkeypatch):
    """Choice labels are read from the field's choices once per table, unless the model writes its
    own ``get_FOO_display``: then that is called for each row, as django-tables2 does."""
    monkeypatch.setattr(Member, "get_status_display", lambda member: f"own {member.pk}", raising=False)
    lean = lean_rows(paginated(MemberTable, members))
    assert lean == stock_rows(paginated(MemberTable, members))
    assert f"own {members[0].pk}" in lean


def test_links_to_keys_other_than_whole_numbers_are_written_by_django_tables2(members):
    class ByCode(tables.Table):
        organization = tables.Column(linkify=("branches:organization_detail", {"pk": tables.A("organization.pk")}))
        full_name = tables.Column(linkify=lambda record: f"/members/{record.pk}/?from=<list>")

        class Meta:
            model = Member
            fields = ()

    lean = lean_rows(paginated(ByCode, members))
    assert lean == stock_rows(paginated(ByCode, members))
    assert "?from=&lt;list&gt;" in lean


def test_keyed_urls_are_the_urls_reverse_writes(db):
    from django.urls import reverse

    from core.lean_tables import keyed_url

    url = keyed_url("branches:organization_detail")
    for key in (0, 7, 123456789):
        assert url(key) == reverse("branches:organization_detail", kwargs={"pk": key})
    assert url("12") == reverse("branches:organization_detail", kwargs={"pk": "12"})  # not an int: reverse()
