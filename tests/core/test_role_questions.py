"""One answer per role question: the page, the API and the navbar give the scope's answer.

Every role question the scope answers (``core.scoping.Scope``) is asked here of every persona,
once through the pages and once through the API, and the two outcomes must be the same, and the
same as the scope's answer. An outcome is ``"yes"`` or the refusal's status (``"403"``, ``"404"``),
so a page that answers 403 where the API answers 404 fails as surely as one that serves what the
API refuses. Where the navbar offers a page for the question, the link must follow the answer too.

The personas are those of tests/conftest.py (``secretary_b`` is the outsider to branch A), and
``nobody``, signed in without a role. The change history has no API endpoint: its page alone is
compared with the scope.
"""

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from core.scoping import scope_for
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.factories import MemberFactory, OrganizationFactory, UserFactory

PERSONAS = ("secretary_a", "secretary_b", "department", "administrator", "nobody")
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
YES = "yes"


def outcome(response, yes):
    """``"yes"`` when the status is one of ``yes``, the status of a refusal, else the test fails."""
    if response.status_code in yes:
        return YES
    assert response.status_code in (403, 404), f"{response.status_code} is neither {yes} nor a refusal"
    return str(response.status_code)


def same(*outcomes):
    """The one outcome of several ways to ask (the dashboard and its export, say); they must agree."""
    assert len(set(outcomes)) == 1, f"the ways to ask disagree: {outcomes}"
    return outcomes[0]


def cell(committee, metric):
    return f"target-{committee.pk}-{metric}"


@dataclass
class Question:
    name: str
    scope: Callable  # (scope, world) → bool
    page: Callable  # (client, world) → outcome
    api: Callable | None  # (api client, world) → outcome; None: no API endpoint asks it
    nav: str | None = None  # the URL name the navbar (or footer) links to when the answer is yes


def report_page(code):
    def ask(client, world):
        query = {"organization": code, "year": 2024}
        return same(
            outcome(client.get(reverse("reports:dashboard"), query), (200,)),
            outcome(client.get(reverse("reports:fulfilment_export"), {**query, "format": "csv"}), (200,)),
        )

    return ask


def report_api(code):
    def ask(api, world):
        return same(
            outcome(api.get(f"{API}reports/fulfilment/", {"organization": code, "year": 2024}), (200,)),
            outcome(api.get(f"{API}reports/structure/", {"organization": code}), (200,)),
            outcome(api.get(f"{API}reports/gaps/", {"organization": code}), (200,)),
        )

    return ask


QUESTIONS = [
    Question(
        "may_write",
        scope=lambda scope, world: scope.may_write,
        page=lambda client, world: outcome(client.get(reverse("branches:member_admit")), (200,)),
        # A writer's empty payload is invalid (400); a reader is refused before it is read.
        api=lambda api, world: outcome(api.post(f"{API}members/", {}, format="json"), (400,)),
        nav="io:import",
    ),
    Question(
        "may_write_at branch A",
        scope=lambda scope, world: scope.may_write_at(world.tree.branch_a),
        page=lambda client, world: outcome(client.get(reverse("branches:member_edit", args=[world.member.pk])), (200,)),
        api=lambda api, world: outcome(api.patch(f"{API}members/{world.member.pk}/", {}, format="json"), (200,)),
    ),
    Question(
        "reads_reports",
        scope=lambda scope, world: scope.reads_reports,
        page=lambda client, world: outcome(client.get(reverse("reports:dashboard")), (200,)),
        # The API asks which organisation (400) of a reader, and refuses a non-reader first.
        api=lambda api, world: outcome(api.get(f"{API}reports/fulfilment/"), (400,)),
        nav="reports:dashboard",
    ),
    Question(
        "reads_reports_of branch A",
        scope=lambda scope, world: scope.reads_reports_of(world.tree.branch_a),
        page=report_page("BR-A"),
        api=report_api("BR-A"),
    ),
    Question(
        "reads_reports_of the committee",
        scope=lambda scope, world: scope.reads_reports_of(world.tree.committee),
        page=report_page("DIST"),
        api=report_api("DIST"),
    ),
    Question(
        "sets_targets",
        scope=lambda scope, world: scope.sets_targets,
        page=lambda client, world: outcome(client.get(reverse("reports:targets")), (200,)),
        api=lambda api, world: outcome(api.post(f"{API}targets/", {}, format="json"), (400,)),
        nav="reports:targets",
    ),
    Question(
        "sets_targets_for the sub-committee",
        scope=lambda scope, world: scope.sets_targets_for(world.sub),
        page=lambda client, world: outcome(
            client.post(
                f"{reverse('reports:targets')}?organization=DIST&year=2025",
                {cell(world.sub, "members_admitted"): "5"},
            ),
            (302,),
        ),
        api=lambda api, world: outcome(
            api.post(
                f"{API}targets/",
                {"committee": "SUB", "year": 2025, "metric": "members_admitted", "value": 6},
                format="json",
            ),
            (200, 201),
        ),
    ),
    Question(
        "reads_history",
        scope=lambda scope, world: scope.reads_history,
        page=lambda client, world: same(
            outcome(client.get(reverse("io:changes")), (200,)),
            outcome(client.get(reverse("io:changeset")), (200, 404)),  # 404: no such change set, once allowed
        ),
        api=None,
        nav="io:changes",
    ),
    Question(
        "administers",
        scope=lambda scope, world: scope.administers,
        page=lambda client, world: outcome(client.get(reverse("security:access_log")), (200,)),
        api=lambda api, world: same(
            outcome(api.post(f"{API}organizations/", {}, format="json"), (400,)),
            outcome(api.post(f"{API}localities/", {}, format="json"), (400,)),
        ),
        nav="security:access_log",
    ),
]


@pytest.fixture
def world(tree, personas):
    sub = OrganizationFactory(code="SUB", name="Đảng ủy cấp dưới", parent=tree.committee, locality=tree.province)
    member = MemberFactory(organization=tree.branch_a)
    nobody = UserFactory(username="nobody")
    return SimpleNamespace(
        tree=tree, sub=sub, member=member, users={**vars(personas), "nobody": nobody}, personas=personas
    )


def fresh_scope(user):
    """The scope of ``user`` as a new request computes it (nothing cached on the fixture's object)."""
    return scope_for(get_user_model().objects.get(pk=user.pk))


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("question", QUESTIONS, ids=[question.name for question in QUESTIONS])
def test_page_and_api_give_the_scopes_answer(client, api_as, world, persona, question):
    user = world.users[persona]
    expected = question.scope(fresh_scope(user), world)
    client.force_login(user)
    page = question.page(client, world)
    assert (page == YES) == expected, f"{persona}, {question.name}: the page says {page}, the scope {expected}"
    if question.api is not None:
        api = question.api(api_as(user), world)
        assert api == page, f"{persona}, {question.name}: the page says {page}, the API {api}"
    if question.nav is not None:
        page_html = client.get(reverse("branches:member_list")).content.decode()
        frame = page_html.split("<main")[0] + page_html.split("</main>")[1]  # the navbar and the footer
        offered = f'href="{reverse(question.nav)}"' in frame
        assert offered == expected, f"{persona}, {question.name}: the navbar offers it: {offered}"


@pytest.mark.parametrize("persona", PERSONAS)
def test_two_factor_is_asked_of_the_page_and_the_api_alike(client, api_as, world, persona, two_factor_required):
    user = world.users[persona]
    expected = fresh_scope(user).must_use_two_factor
    client.force_login(user)
    page = client.get(reverse("branches:member_list"))
    refused_page = page.status_code == 302 and page["Location"].startswith(reverse("security:otp_setup"))
    assert refused_page or page.status_code == 200
    session_api = client.get(f"{API}members/").status_code
    token = api_as(None).post(f"{API}auth/token/", {"username": user.username, "password": PASSWORD}).status_code
    assert session_api in (200, 403) and token in (200, 403)
    assert refused_page == (session_api == 403) == (token == 403) == expected, (
        f"{persona}: two-factor page {page.status_code}, API {session_api}, token {token}, scope {expected}"
    )


def test_every_persona_is_asked_every_question():
    """The walk above covers each question the scope answers (a new question needs a row here)."""
    from core.scoping import Scope

    asked = {question.name.split(" ")[0] for question in QUESTIONS} | {"must_use_two_factor"}
    answered = {
        "administers",
        "may_write",
        "may_write_at",
        "reads_reports",
        "reads_reports_of",
        "sets_targets",
        "sets_targets_for",
        "reads_history",
        "must_use_two_factor",
    }
    assert answered <= {name for name in dir(Scope) if not name.startswith("_")}
    assert asked == answered


def test_a_secretarys_home_links_to_the_reports_of_their_organisation(client, world):
    client.force_login(world.personas.secretary_a)
    home = client.get(reverse("home:organization", args=[world.tree.branch_a.pk]))
    link = f"{reverse('reports:dashboard')}?organization=BR-A"
    assert link in home.content.decode()
    assert client.get(link).status_code == 200


def test_scope_active_role_and_switcher_read_the_role_assignments_once(rf, world, django_assert_num_queries):
    from django.contrib.sessions.backends.db import SessionStore

    from core.middleware import get_active_role, role_assignments_of

    request = rf.get("/")
    request.session = SessionStore()
    request.user = get_user_model().objects.get(pk=world.personas.department.pk)
    with django_assert_num_queries(1):
        scope = scope_for(request.user)
        assert get_active_role(request).organization == world.tree.committee
        assert len(role_assignments_of(request)) == 1
        assert scope_for(request.user) is scope and scope.reads_history and scope.sets_targets


def test_a_page_reads_the_role_assignments_once(client, world):
    """Scope, active role and role switcher share one read of the role assignments per request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(world.personas.secretary_a)
    url = reverse("home:organization", args=[world.tree.branch_a.pk])
    client.get(url)  # the first request of a session may do one-off work
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    role_reads = [query["sql"] for query in queries if 'FROM "branches_roleassignment"' in query["sql"]]
    assert len(role_reads) == 1, role_reads
