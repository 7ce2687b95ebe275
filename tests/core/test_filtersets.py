"""Filters refuse absurd input with a form error instead of failing, and offer what they filter by."""

import datetime

import pytest
from django.urls import reverse


@pytest.mark.parametrize(
    "url, params",
    [
        ("branches:member_list", {"admitted_year": "99999999999999"}),
        ("enterprises:massorganization_list", {"established_year": "99999999999999"}),
        ("branches:member_list", {"admitted_year": "-5"}),
    ],
)
def test_out_of_range_years_in_list_filters_are_refused_not_crashing(client, secretary_a, url, params):
    client.force_login(secretary_a)
    response = client.get(reverse(url), params)
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "language, asked, labels, chosen",
    [
        ("en", "", ["All", "Yes", "No"], "All"),
        ("en", "true", ["All", "Yes", "No"], "Yes"),
        ("vi", "false", ["Tất cả", "Có", "Không"], "Không"),
    ],
)
def test_yes_no_filters_offer_all_yes_and_no_in_the_users_language(
    client, tree, secretary_a, language, asked, labels, chosen
):
    from branches.models import Member
    from tests.factories import MemberFactory

    official = MemberFactory(
        organization=tree.branch_a, full_name="Nguyễn Văn An", official_on=datetime.date(2021, 3, 1)
    )
    MemberFactory(organization=tree.branch_a, full_name="Trần Văn Bình", official_on=None)
    client.force_login(secretary_a)
    client.cookies["django_language"] = language
    response = client.get(reverse("branches:member_list"), {"official": asked} if asked else {})
    field = response.context["filter"].form["official"]
    html = str(field)
    assert [label for _value, label in field.field.widget.choices] and labels == [
        str(label) for _value, label in field.field.widget.choices
    ]
    assert f"selected>{chosen}</option>" in html and html.count("selected") == 1
    shown = {row.record.pk for row in response.context["table"].paginated_rows}
    expected = {"": set(Member.objects.values_list("pk", flat=True)), "true": {official.pk}}
    if asked in expected:
        assert shown == expected[asked]
    else:
        assert official.pk not in shown and len(shown) == 1
