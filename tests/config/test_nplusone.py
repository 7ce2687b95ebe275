"""The N+1 guard: django-zeal is on in the test suite, so a view loading a relation row by row fails.

Two throw-away views over the same members: one reads each member's organisation one query at
a time (the bug the guard must catch), the other with ``select_related`` (what list views do).
"""

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.urls import path
from zeal.errors import NPlusOneError

from branches.models import Member
from tests.factories import MemberFactory


def n_plus_one_view(request):
    names = [member.organization.name for member in Member.objects.order_by("pk")]
    return HttpResponse(", ".join(names))


def select_related_view(request):
    names = [member.organization.name for member in Member.objects.select_related("organization").order_by("pk")]
    return HttpResponse(", ".join(names))


urlpatterns = [
    path("n-plus-one/", n_plus_one_view),
    path("select-related/", select_related_view),
]


@pytest.fixture
def members(tree):
    return [MemberFactory(organization=branch) for branch in (tree.branch_a, tree.branch_b, tree.branch_a)]


def test_the_guard_is_installed_in_the_test_suite():
    assert settings.ZEAL_ENABLED
    assert "zeal" in settings.INSTALLED_APPS
    assert "zeal.middleware.zeal_middleware" in settings.MIDDLEWARE


@pytest.mark.django_db
@pytest.mark.urls("tests.config.test_nplusone")
def test_a_view_with_an_n_plus_one_query_fails(client, members):
    with pytest.raises(NPlusOneError, match="organization"):
        client.get("/n-plus-one/")


@pytest.mark.django_db
@pytest.mark.urls("tests.config.test_nplusone")
def test_the_same_view_with_select_related_passes(client, members):
    response = client.get("/select-related/")
    assert response.status_code == 200
    assert response.content.decode().count("Chi bộ") == 3
