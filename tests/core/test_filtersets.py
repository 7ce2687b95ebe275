"""Filters refuse absurd input with a form error instead of failing."""

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
