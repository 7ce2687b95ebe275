"""No input gives a 500: every URL pattern, GET with a NUL in every query parameter the project reads,
and with a page number beyond any integer (issue 17, finding 8)."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import translation

from tests.factories import MassOrganizationFactory, MemberFactory, ProspectFactory

ROOT = Path(__file__).resolve().parents[2]
APPS = ("core", "security", "branches", "enterprises", "reports", "dataio", "config")
HUGE = "99999999999999999999999"
#: Parameters read as numbers or ids, also tried one at a time with a number beyond any integer.
NUMERIC = {"page", "per_page", "page_size", "year", "days", "user", "member", "admitted_year", "established_year"}
NUMERIC |= {"organization", "enterprise", "locality", "committee", "managing_committee", "within", "metric"}


def query_parameter_names():
    """Every query parameter the project reads: request.GET look-ups and the filtersets' filters."""
    get_resolver().url_patterns  # noqa: B018 - imports every view, and so every filterset
    names = {"page", "page_size", "per_page", "sort", "q", "format", "kind", "next", "x"}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            text = path.read_text()
            names.update(re.findall(r"""GET\.get(?:list)?\(\s*["']([\w-]+)["']""", text))
            names.update(re.findall(r"""query_params\.get\(\s*["']([\w-]+)["']""", text))
            names.update(re.findall(r"""_query_(?:text|id)\(request,\s*["']([\w-]+)["']""", text))
    from django_filters import FilterSet

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for filterset in subclasses(FilterSet):
        if filterset.__module__.split(".")[0] in APPS:
            names.update(filterset.base_filters)
    return sorted(names)


def url_patterns(resolver=None, prefix=""):
    """(route, pattern) for every URL of the project, routes as text with their converters."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern).replace("^", "").replace("$", "").replace("\\Z", "")
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def concrete_path(route, objects):
    """The path of ``route`` with its parameters filled: the id of an object of the model the route
    names, else 1 (a 404 is an answer too); None for the admin and format-suffix routes."""
    route = route.replace("\\", "")
    if route.startswith("admin/") or "<format>" in route or ".(?P" in route or "(?P<format>" in route:
        return None
    object_id = next((object_id for name, object_id in objects.items() if name in route), 1)
    path = re.sub(r"<int:\w+>|<pk>|\(\?P<\w+>[^)]*\)", str(object_id), route)
    path = path.replace("<str:model_key>", "member")
    path = re.sub(r"<(?:str|slug|path):\w+>", "BR-A", path)
    if "(" in path or "<" in path or "*" in path or "?" in path:
        return None
    return "/" + path


def all_paths(objects):
    paths = {concrete_path(route, objects) for route, _pattern in url_patterns()}
    return sorted(path for path in paths if path)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def objects(tree):
    member = MemberFactory(organization=tree.branch_a, enterprise=tree.enterprise_a)
    return {  # the first name a route holds gives its id: "mass" before "organization"
        "mass": MassOrganizationFactory(enterprise=tree.enterprise_a).pk,
        "member": member.pk,
        "prospect": ProspectFactory(organization=tree.branch_a).pk,
        "enterprise": tree.enterprise_a.pk,
        "organization": tree.branch_a.pk,
        "locality": tree.commune.pk,
    }


def test_the_walk_covers_the_pages_and_parameters():
    routes = [route for route, _pattern in url_patterns()]
    assert len(routes) > 40
    names = query_parameter_names()
    for name in ("page", "reason", "username", "days", "organization", "status", "kind", "format"):
        assert name in names


@pytest.mark.parametrize("persona", ["administrator", "department", "secretary_a"])
def test_no_page_answers_5xx_to_nul_or_huge_values(persona, request, objects):
    user = request.getfixturevalue(persona)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    names = query_parameter_names()
    selectors = {"kind": "members", "format": "csv"}  # valid, so the views read the other parameters
    failures = []
    for path in all_paths(objects):
        for values in (
            {name: "\x00" for name in names},
            {**{name: "a\x00" for name in names}, **selectors},
            {**{name: HUGE for name in names}, **selectors},
            {"page": HUGE},
        ):
            response = client.get(path, values)
            if response.status_code >= 500:
                failures.append((path, values.get("x"), response.status_code))
    assert failures == [], "\n".join(map(str, failures))


#: The walk one parameter at a time is the suite's longest test in one piece: its pages are split
#: into this many tests, and the API schema (generated afresh for each request, by far the slowest
#: page) has one of its own, so that the test runners share them.
SHARDS = 3


@pytest.mark.parametrize("shard", ["api-schema", *range(SHARDS)])
def test_a_nul_in_any_one_parameter_of_any_list_or_form_is_no_5xx(administrator, objects, shard):
    """One parameter at a time, so that no early refusal of another hides it (pages without an id)."""
    client = Client(raise_request_exception=False)
    client.force_login(administrator)
    failures = []
    paths = [path for path in all_paths(objects) if not re.search(r"/\d+/", path)]
    schema = [path for path in paths if path.endswith("/schema/")]
    chosen = schema if shard == "api-schema" else [path for path in paths if path not in schema][shard::SHARDS]
    assert len(chosen) >= (1 if shard == "api-schema" else 5)
    for path in chosen:
        for name in query_parameter_names():
            selectors = {key: value for key, value in {"kind": "members"}.items() if key != name}
            for value in ("1\x00", HUGE) if name in NUMERIC else ("1\x00",):
                response = client.get(path, {name: value, **selectors})
                if response.status_code >= 500:
                    failures.append((path, name, repr(value), response.status_code))
    assert failures == [], "\n".join(map(str, failures))
