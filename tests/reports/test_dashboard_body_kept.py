"""The dashboard's body is built once per data version and scope and shared by every user of that
scope (``core.versions.shared_per_data_version``): the same page as built afresh, with each
view's own form token, and never older than the last write, approvals included."""

import datetime
import re
import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from branches import approvals, events, services
from branches.choices import RoleKey
from core import events as core_events
from reports import views
from reports.deadlines import COUNTS_CACHE_SECONDS
from tests.factories import RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the versions move on commit, as in production

D = datetime.date
DASHBOARD = reverse("reports:dashboard")
ACTION = reverse("reports:approval_action")


@pytest.fixture
def builds(monkeypatch):
    """How many times the body was built (not taken from the cache)."""
    built = []
    original = views._dashboard_body

    def counted(*args, **kwargs):
        built.append(args[2].code)
        return original(*args, **kwargs)

    monkeypatch.setattr(views, "_dashboard_body", counted)
    return built


def colleague(tree, username="department_two"):
    """A second department user of the same committee: the same scope as ``department``."""
    user = UserFactory(username=username)
    RoleAssignmentFactory(user=user, role=RoleKey.DEPARTMENT, organization=tree.committee)
    return user


def view(user, language="vi", client=None, **params):
    client = client or Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(DASHBOARD, {"year": 2024, **params})
    assert response.status_code == 200
    return response.content.decode()


def token_of(page):
    """The token of the approval panel's first form (the navbar's forms come before it)."""
    panel = page[page.index('id="approval-panel"') :]
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', panel).group(1)


def body_without_tokens(page):
    body = page[page.index('<main id="content"') : page.index("</main>")]
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)


def members_shown(page):
    return re.search(r'data-metric="members"><th[^>]*>[^<]*</th><td[^>]*>([^<]+)</td>', page).group(1)


def test_users_of_one_scope_share_one_body_with_their_own_tokens(tree, department, secretary_a, builds):
    first = view(department)
    second = view(colleague(tree))
    assert builds == ["DIST"]  # built for the first, served to the second as it was
    assert body_without_tokens(second) == body_without_tokens(first)
    assert 'name="csrfmiddlewaretoken"' in second[second.index('id="approval-panel"') :]  # its buttons' forms
    assert views.CSRF_PLACEHOLDER not in second
    assert 'id="approval-panel"' in second and 'id="fulfilment-table"' in second

    view(secretary_a)  # another scope: its own body
    view(department, language="en")  # another language: its own body
    view(department, organization="BR-A")  # another organisation: its own body
    assert builds == ["DIST", "BR-A", "DIST", "BR-A"]
    assert "Target fulfilment" in view(colleague(tree, "department_three"), language="en")
    assert builds == ["DIST", "BR-A", "DIST", "BR-A"]


def test_a_write_shows_at_once(tree, department, secretary_a, builds):
    before = members_shown(view(department))
    services.admit_member(
        secretary_a,
        organization=tree.branch_a,
        admitted_on=D(2024, 3, 1),
        full_name="Lê Thị Sau",
        sex="female",
        date_of_birth=D(1991, 2, 2),
        citizen_id="001090000099",
    )
    after = members_shown(view(colleague(tree)))
    assert int(after.replace(".", "")) == int(before.replace(".", "")) + 1
    assert len(builds) == 2


def test_an_approval_is_announced_and_shows_at_once(tree, secretary_a, builds):
    published = []
    core_events.subscribe(events.FiguresApprovalChanged, published.append)
    try:
        before = view(secretary_a, organization="BR-A", language="en")
        assert '<tr data-organization="BR-A" data-status="open">' in before
        approvals.submit(secretary_a, tree.branch_a, year=2024)
        after = view(secretary_a, organization="BR-A", language="en")
    finally:
        core_events.unsubscribe(events.FiguresApprovalChanged, published.append)
    assert published == [events.FiguresApprovalChanged((tree.branch_a.pk,), 2024, 0)]
    assert '<tr data-organization="BR-A" data-status="submitted">' in after
    assert builds == ["BR-A", "BR-A"]


def test_the_token_of_a_shared_body_is_the_viewer_s_own_and_works(tree, department, secretary_a):
    approvals.submit(secretary_a, tree.branch_a, year=2024)
    view(department, organization="DIST")  # built for this user
    client = Client(enforce_csrf_checks=True)
    page = view(colleague(tree), client=client, organization="DIST")  # served from the cache
    response = client.post(
        ACTION,
        {
            "csrfmiddlewaretoken": token_of(page),
            "organization": "BR-A",
            "year": 2024,
            "half": 0,
            "action": "approve",
            "back_to": "DIST",
        },
    )
    assert response.status_code == 302
    assert approvals.approval_for(tree.branch_a, 2024).status == "approved"


def test_a_period_with_errors_is_built_for_its_view_alone_and_odd_parameters_share_the_body(tree, department, builds):
    def kept():
        return len([key for key in cache._cache if "shared-per-data-version" in key])

    view(department)
    view(department, utm_source="zalo")  # a parameter the page does not read: the same body
    assert builds == ["DIST"] and kept() == 2  # the body and the card of what is due
    for _ in range(2):
        page = view(department, as_of="31/02/2024", language="en")
        assert 'class="invalid-feedback"' in page
    assert builds == ["DIST", "DIST", "DIST"]  # never kept: each shows its own input's error
    assert kept() == 2


def test_the_body_is_kept_no_longer_than_the_card_of_what_is_due(department, tree):
    """Prospects, badges and transfers change what is due without a new data version: the body,
    like the card (reports.deadlines.cached_deadline_rows), is reused for a few minutes at most."""
    before = time.time()
    view(department)
    kept = [key for key in cache._cache if "shared-per-data-version" in key]  # the body and the card
    assert len(kept) == 2
    assert all(cache._expire_info[key] <= before + COUNTS_CACHE_SECONDS + 1 for key in kept)
