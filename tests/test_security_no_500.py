"""No input gives a 500: every URL pattern, GET with a NUL in every query parameter the project reads,
and with a page number beyond any integer (issue 17, finding 8)."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import translation

from tests.factories import MassOrganizationFactory, MemberFactory, ProspectFactory

ROOT = Path(__file__).resolve().parent.parent
APPS = ("core", "security", "branches", "enterprises", "reports", "dataio", "config")
HUGE = "99999999999999999999999"


def query_parameter_names():
    """Every query parameter the project reads: request.GET look-ups and the filtersets' filters."""
    names = {"page", "page_size", "per_page", "sort", "q", "format", "kind", "next", "x"}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            text = path.read_text()
            names.update(re.findall(r"""GET\.get(?:list)?\(\s*["']([\w-]+)["']""", text))
            names.update(re.findall(r"""query_params\.get\(\s*["']([\w-]+)["']""", text))
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
    """(route, pattern) for every URL of the project, routes as regex text with their converters."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def concrete_paths(route, objects):
    """The path of ``route`` with its parameters filled with real ids (or a code)."""
    route = route.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")
    if route.startswith("admin/") or "(?P<format>" in route or ".(?P" in route:
        return []
    candidates = []
    for name, object_id in objects.items():
        if name in route or "<int:pk>" in route or "<pk>" in route:
            candidates.append(object_id)
    paths = set()
    for object_id in candidates or [1]:
        path = re.sub(r"<int:[\w]+>|<[\w]+>|\(\?P<[\w]+>[^)]*\)", str(object_id), route)
        path = re.sub(r"<str:model_key>", "member", path)
        path = re.sub(r"<(?:str|slug|path):[\w]+>", "BR-A", path)
        if "(" in path or "<" in path or "*" in path:
            continue
        paths.add("/" + path)
    return sorted(paths)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def objects(tree):
    member = MemberFactory(organization=tree.branch_a, enterprise=tree.enterprise_a)
    return {
        "member": member.pk,
        "organization": tree.branch_a.pk,
        "prospect": ProspectFactory(organization=tree.branch_a).pk,
        "enterprise": tree.enterprise_a.pk,
        "mass": MassOrganizationFactory(enterprise=tree.enterprise_a).pk,
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
    failures = []
    for route, _pattern in url_patterns():
        for path in concrete_paths(route, objects):
            for values in ({name: "\x00" for name in names}, {name: f"a\x00{HUGE}" for name in names}, {"page": HUGE}):
                response = client.get(path, values)
                if response.status_code >= 500:
                    failures.append((path, sorted(values)[:3], response.status_code))
                    break
    assert failures == [], "\n".join(map(str, failures))
