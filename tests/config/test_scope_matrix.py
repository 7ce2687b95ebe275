"""The scope matrix: every URL pattern (pages, exports, API v1, admin) with the four personas.

``REGISTRY`` names every URL of ``get_resolver()`` by view name (unnamed patterns by route) with a
*kind* saying what its scope rule is. ``test_every_url_pattern_is_in_the_matrix`` fails when a URL
has no entry, so a new page cannot ship without its scope check. For each entry, the URL is
filled with records of branch A (``tree.branch_a``), then:

* ``secretary_b`` (the outsider) never sees a marker of branch A's records (names, citizen ID,
  codes, tax code) in any response, gets 404 (or 403) on branch A's records, and changes nothing;
* ``department`` (committee above both) reads but changes nothing (403/404/405 on every write);
* ``secretary_a`` and ``administrator`` reach what their role allows (no 404 on their own records);
* nobody gets a 500.

"Changes nothing" is checked by comparing every domain table before and after the requests.
"""

import csv
import datetime
import io
import re
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import translation

from branches.choices import RoleKey
from branches.models import Member, MembershipPeriod, Organization, Prospect, RoleAssignment, Transfer
from branches.services import issue_transfer
from core.jobs import files_storage
from core.models import Job
from enterprises.models import Enterprise, Locality, MassOrganization, MembershipReturn
from reports.metrics import Metric
from reports.models import Target
from security.access import issue_token
from security.models import ApiToken
from tests.factories import (
    MassOrganizationFactory,
    MemberFactory,
    MembershipReturnFactory,
    OrganizationFactory,
    ProspectFactory,
    TargetFactory,
)

PERSONAS = ("secretary_a", "secretary_b", "department", "administrator")
WRITE_METHODS = ("post", "put", "patch", "delete")

# Kinds ------------------------------------------------------------------------------------
PUBLIC = "public"  # no records at all (sign-in, health, schema, language)
OWN_ACCOUNT = "own account"  # only the signed-in user's own account (password, 2FA, role switch)
LIST = "list"  # a list or a report: every persona may open it, each sees its own scope
CREATE = "create"  # add a record: the outsider cannot aim it at branch A, department cannot write
RECORD_READ = "record read"  # one record of branch A: outsider 404
RECORD_WRITE = "record write"  # a form or action on one record of branch A: outsider 404, department 403
ADMINISTRATORS = "administrators"  # administrators only (users, roles, localities, access log)
ADMIN_SITE = "admin site"  # django admin: nobody but administrators gets in


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted in English (the default language is Vietnamese), in every thread."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@dataclass(frozen=True)
class Entry:
    kind: str
    model: object = None  # whose branch-A record fills ``pk``
    query: dict = field(default_factory=dict)  # extra GET parameters (exports, reports)
    note: str = ""


R = Entry
REGISTRY = {
    # Accounts, public and technical pages
    "login": R(PUBLIC),
    "logout": R(OWN_ACCOUNT),
    "password_change": R(OWN_ACCOUNT),
    "password_change_done": R(OWN_ACCOUNT),
    "home": R(OWN_ACCOUNT),
    "set_language": R(PUBLIC),
    "health": R(PUBLIC),
    "branches:role_switch": R(OWN_ACCOUNT),
    "security:otp_setup": R(OWN_ACCOUNT),
    "security:otp_verify": R(OWN_ACCOUNT),
    "security:data_protection": R(PUBLIC),
    "security:access_log": R(ADMINISTRATORS),
    "security:profile": R(OWN_ACCOUNT),
    # Organisations
    "branches:organization_list": R(LIST),
    "branches:organization_tree": R(LIST),
    "branches:organization_detail": R(RECORD_READ, Organization),
    "branches:organization_autocomplete": R(LIST, note="the pickers: each choice set is its form's queryset"),
    "enterprises:enterprise_autocomplete": R(LIST, note="the pickers: the enterprises the user sees"),
    "enterprises:locality_autocomplete": R(LIST, note="localities are shared reference data, read by all"),
    "enterprises:locality_tree": R(LIST, note="localities are shared reference data, read by all"),
    "enterprises:locality_detail": R(LIST, Locality, note="localities are shared reference data, read by all"),
    "branches:organization_incoming": R(RECORD_READ, Organization),
    "branches:organization_former": R(RECORD_READ, Organization),
    "branches:transfer_confirm": R(RECORD_WRITE, Transfer),
    "branches:transfer_cancel": R(RECORD_WRITE, Transfer),
    "branches:transfer_redirect": R(RECORD_WRITE, Transfer),
    "branches:transfer_end": R(RECORD_WRITE, Transfer),
    "home:organization": R(RECORD_READ, Organization),
    # Members
    "branches:member_list": R(LIST),
    "branches:member_admit": R(CREATE),
    "branches:member_detail": R(RECORD_READ, Member),
    "branches:member_edit": R(RECORD_WRITE, Member),
    "branches:member_recognize": R(RECORD_WRITE, Member),
    "branches:member_transfer": R(RECORD_WRITE, Member),
    "branches:member_ceremony": R(RECORD_WRITE, Member),
    "branches:member_leave": R(RECORD_WRITE, Member),
    "branches:member_badge": R(RECORD_WRITE, Member),
    "branches:badge_list": R(LIST, query={"organization": "BR-A"}),
    "branches:member_correct_admission": R(RECORD_WRITE, Member),
    "branches:member_undo_leaving": R(RECORD_WRITE, Member),
    # Prospects
    "branches:prospect_list": R(LIST),
    "branches:prospect_add": R(CREATE),
    "branches:prospect_detail": R(RECORD_READ, Prospect),
    "branches:prospect_edit": R(RECORD_WRITE, Prospect),
    "branches:prospect_withdraw": R(RECORD_WRITE, Prospect),
    "branches:prospect_admit": R(RECORD_WRITE, Prospect),
    # Enterprises and mass organisations
    "enterprises:enterprise_list": R(LIST),
    "enterprises:enterprise_add": R(CREATE),
    "enterprises:enterprise_detail": R(RECORD_READ, Enterprise),
    "enterprises:enterprise_edit": R(RECORD_WRITE, Enterprise),
    "enterprises:massorganization_list": R(LIST),
    "enterprises:massorganization_add": R(CREATE),
    "enterprises:massorganization_detail": R(RECORD_READ, MassOrganization),
    "enterprises:massorganization_edit": R(RECORD_WRITE, MassOrganization),
    "enterprises:massorganization_return": R(RECORD_WRITE, MassOrganization),
    "enterprises:massorganization_dissolve": R(RECORD_WRITE, MassOrganization),
    "enterprises:membershipreturn_correct": R(RECORD_WRITE, MembershipReturn),
    # Reports (department staff and administrators; ``organization`` aims at branch A's committee)
    "reports:dashboard": R(LIST, query={"organization": "BR-A"}),
    "reports:targets": R(LIST, query={"organization": "BR-A"}),
    "reports:fulfilment_export": R(LIST, query={"organization": "BR-A", "format": "csv"}),
    "reports:movement": R(LIST, query={"organization": "BR-A", "year": 2024}),
    "reports:admissions": R(LIST, query={"organization": "BR-A", "year": 2024, "format": "csv"}),
    "reports:gap_list": R(LIST, query={"organization": "BR-A"}),
    "reports:deadlines": R(LIST, query={"organization": "BR-A"}),
    "reports:deadline_committees": R(LIST, query={"organization": "BR-A"}),
    # The dashboard's approval buttons (POST only): through branches.approvals, like api:approval-*
    "reports:approval_action": R(LIST, query={"organization": "BR-A", "year": 2024}),
    # Import, export, change history
    "io:export": R(LIST, query={"kind": "members", "format": "csv"}),
    "io:import": R(CREATE),
    "io:template": R(PUBLIC),
    "io:import_commit": R(CREATE, note="token of nobody's upload"),
    "io:changes": R(LIST),
    "io:restructure": R(ADMINISTRATORS, note="restructuring plans: administrators only"),
    "io:restructure_template": R(PUBLIC, note="the empty plan template"),
    "io:restructure_commit": R(ADMINISTRATORS, note="token of nobody's plan"),
    "io:changeset": R(LIST),
    "io:record_history": R(RECORD_READ, Member),
    # Background tasks (secretary A's export of branch A's members): its owner and administrators only
    "tasks:job": R(RECORD_READ, Job),
    "tasks:status": R(RECORD_READ, Job),
    "tasks:download": R(RECORD_READ, Job),
    # API v1
    "api:api-root": R(PUBLIC),
    "api:schema": R(PUBLIC),
    "api:docs": R(PUBLIC),
    "api:token": R(PUBLIC),
    "api:report-fulfilment": R(LIST, query={"organization": "BR-A"}),
    "api:report-structure": R(LIST, query={"organization": "BR-A"}),
    "api:report-gaps": R(LIST, query={"organization": "BR-A"}),
    "api:report-movement": R(LIST, query={"organization": "BR-A", "year": 2024}),
    "api:report-admissions": R(LIST, query={"organization": "BR-A", "year": 2024}),
    # Approval of a period's figures: a GET lists the statuses; the posts go through branches.approvals
    "api:approvals": R(LIST, query={"organization": "BR-A", "year": 2024}),
    "api:approval-submit": R(LIST, query={"organization": "BR-A", "year": 2024}),
    "api:approval-approve": R(LIST, query={"organization": "BR-A", "year": 2024}),
    "api:approval-return": R(LIST, query={"organization": "BR-A", "year": 2024}),
    "api:approval-reopen": R(LIST, query={"organization": "BR-A", "year": 2024}),
    "api:locality-list": R(LIST),
    "api:locality-detail": R(ADMINISTRATORS, Locality, note="localities are shared reference data, read by all"),
    "api:locality-move": R(ADMINISTRATORS, Locality),
    "api:locality-rename": R(ADMINISTRATORS, Locality),
    "api:locality-merge": R(ADMINISTRATORS, Locality),
    "api:locality-abolish": R(ADMINISTRATORS, Locality),
    "api:enterprise-list": R(LIST),
    "api:enterprise-by-tax-code": R(RECORD_READ, Enterprise),
    "api:enterprise-detail": R(RECORD_WRITE, Enterprise),
    "api:enterprise-pass-to-committee": R(RECORD_WRITE, Enterprise),
    "api:massorganization-list": R(LIST),
    "api:massorganization-detail": R(RECORD_WRITE, MassOrganization),
    "api:massorganization-dissolve": R(RECORD_WRITE, MassOrganization),
    "api:massorganization-returns": R(RECORD_WRITE, MassOrganization),
    "api:massorganization-correct-return": R(RECORD_WRITE, MassOrganization),
    "api:organization-list": R(LIST),
    "api:organization-by-code": R(RECORD_READ, Organization),
    "api:organization-detail": R(RECORD_WRITE, Organization),
    "api:organization-dissolve": R(RECORD_WRITE, Organization),
    "api:organization-move": R(RECORD_WRITE, Organization),
    "api:organization-rename": R(RECORD_WRITE, Organization),
    "api:organization-merge": R(RECORD_WRITE, Organization),
    "api:organization-split": R(RECORD_WRITE, Organization),
    "api:member-list": R(LIST),
    "api:member-detail": R(RECORD_WRITE, Member),
    "api:member-leave": R(RECORD_WRITE, Member),
    "api:member-recognize": R(RECORD_WRITE, Member),
    "api:member-transfer": R(RECORD_WRITE, Member),
    "api:member-ceremony": R(RECORD_WRITE, Member),
    "api:member-correct-admission": R(RECORD_WRITE, Member),
    "api:member-undo-leaving": R(RECORD_WRITE, Member),
    "api:transfer-list": R(LIST),
    "api:transfer-detail": R(RECORD_READ, Transfer),
    "api:transfer-confirm": R(RECORD_WRITE, Transfer),
    "api:transfer-cancel": R(RECORD_WRITE, Transfer),
    "api:transfer-redirect": R(RECORD_WRITE, Transfer),
    "api:transfer-end": R(RECORD_WRITE, Transfer),
    "api:deadline-list": R(LIST, note="?organization=CODE: an organisation outside the scope is 404"),
    "api:badge-list": R(LIST, note="?organization=CODE: an organisation outside the scope is 404"),
    "api:prospect-list": R(LIST),
    "api:prospect-detail": R(RECORD_WRITE, Prospect),
    "api:prospect-admit": R(RECORD_WRITE, Prospect),
    "api:prospect-withdraw": R(RECORD_WRITE, Prospect),
    "api:user-list": R(ADMINISTRATORS, note="others see themselves only"),
    "api:user-detail": R(ADMINISTRATORS, get_user_model()),
    "api:user-token": R(ADMINISTRATORS, get_user_model()),
    "api:roleassignment-list": R(ADMINISTRATORS, note="others see their own roles only"),
    "api:roleassignment-detail": R(ADMINISTRATORS, RoleAssignment),
    "api:apitoken-list": R(ADMINISTRATORS, note="others list their own tokens only"),
    "api:apitoken-detail": R(ADMINISTRATORS, ApiToken, note="an administrator's token: others get 404"),
    "api:target-list": R(LIST),
    "api:target-bulk": R(CREATE),
    "api:target-detail": R(RECORD_WRITE, Target),
    "route:api/v1/^.*$": R(PUBLIC, note="the API's JSON 404"),
}
ADMIN_NAMESPACE = "admin"
ADMIN_PUBLIC = {"admin:login", "admin:logout"}  # the admin's own sign-in form


# Walking the URL configuration ------------------------------------------------------------


@dataclass
class Pattern:
    key: str  # view name, or "route:<route>" for an unnamed pattern
    route: str
    pattern: object
    converters: dict


def walk(patterns=None, prefix="", namespace="", converters=None):
    converters = converters or {}
    for item in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(item.pattern)
        if isinstance(item, URLResolver):
            inner = f"{namespace}{item.namespace}:" if item.namespace else namespace
            yield from walk(item.url_patterns, route, inner, {**converters, **item.pattern.converters})
        elif isinstance(item, URLPattern):
            key = f"{namespace}{item.name}" if item.name else f"route:{route}"
            yield Pattern(key, route, item, {**converters, **item.pattern.converters})


def patterns_by_key():
    grouped = {}
    for pattern in walk():
        grouped.setdefault(pattern.key, []).append(pattern)
    return grouped


def is_admin(key):
    return key.startswith(f"{ADMIN_NAMESPACE}:") or key.startswith("route:admin/")


def test_every_url_pattern_is_in_the_matrix():
    missing = sorted(key for key in patterns_by_key() if not is_admin(key) and key not in REGISTRY)
    assert not missing, f"URL patterns without a scope entry in tests/config/test_scope_matrix.py: {missing}"


def test_the_matrix_has_no_stale_entries():
    stale = sorted(set(REGISTRY) - set(patterns_by_key()))
    assert not stale, f"entries for URL patterns that no longer exist: {stale}"


# Records of branch A and how to recognise them ---------------------------------------------


@pytest.fixture
def records(tree, secretary_a, secretary_b, department, administrator):
    member = MemberFactory(
        organization=tree.branch_a,
        full_name="Trịnh Bí Mật",
        citizen_id="001199887766",
        party_card_number="PC-SECRET-A",
        enterprise=tree.enterprise_a,
        is_business_owner=False,
    )
    prospect = ProspectFactory(organization=tree.branch_a, full_name="Hoàng Riêng Tư", citizen_id="001188776655")
    mass = MassOrganizationFactory(enterprise=tree.enterprise_a, name="Công đoàn Kín Đáo")
    membership_return = MembershipReturnFactory(mass_organization=mass)
    # A transfer from branch A to an organisation outside secretary B's scope, still in transit.
    elsewhere = OrganizationFactory(
        code="BR-ELSEWHERE", kind="grassroots_branch", parent=tree.committee, locality=tree.commune
    )
    transfer = issue_transfer(
        administrator,
        MemberFactory(organization=tree.branch_a, citizen_id="001177665544"),
        to_organization=elsewhere,
        letter_date=datetime.date(2024, 6, 3),
    )
    target = TargetFactory(committee=tree.committee, year=2024, metric=Metric.MEMBERS_ADMITTED, value=7)
    export = files_storage().save("exports/matrix/members.csv", ContentFile("Trịnh Bí Mật,001199887766\n".encode()))
    job = Job.objects.create(
        kind="export",
        title="Export",
        owner=secretary_a,
        status=Job.Status.SUCCEEDED,
        result_name=export,
        result_filename="members.csv",
        message="Trịnh Bí Mật",
    )
    return SimpleNamespace(
        tree=tree,
        personas=SimpleNamespace(
            secretary_a=secretary_a, secretary_b=secretary_b, department=department, administrator=administrator
        ),
        by_model={
            Member: member,
            Prospect: prospect,
            MassOrganization: mass,
            MembershipReturn: membership_return,
            Transfer: transfer,
            Enterprise: tree.enterprise_a,
            Organization: tree.branch_a,
            Locality: tree.commune,
            Target: target,
            Job: job,
            RoleAssignment: secretary_a.role_assignments.get(),
            get_user_model(): secretary_a,
            ApiToken: issue_token(administrator, second_factor=True)[0],
        },
        # Text that only someone who may see branch A's records may receive.
        markers=[
            "Trịnh Bí Mật",
            "001199887766",
            "PC-SECRET-A",
            "Hoàng Riêng Tư",
            "001188776655",
            "Công đoàn Kín Đáo",
            tree.enterprise_a.name,
            tree.enterprise_a.tax_code,
            tree.branch_a.name,
        ],
    )


def fill(pattern, entry, records):
    """The URL of ``pattern`` with its arguments taken from branch A's records."""
    obj = records.by_model.get(entry.model) if entry.model is not None else None
    values = {
        "pk": obj.pk if obj is not None else records.by_model[Member].pk,
        "object_id": records.by_model[Member].pk,
        "code": records.tree.branch_a.code,
        "tax_code": records.tree.enterprise_a.tax_code,
        "token": "0" * 32,
        "job_id": records.by_model[Job].pk,
        "model_key": "member",
        "format": "json",
        "content_type_id": "1",
        "app_label": "branches",
        "url": "",
        "kind": "stagnant-organizations",  # reports:gap_list
        "return_id": records.by_model[MembershipReturn].pk,
    }
    route = pattern.route
    route = re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: str(values.get(m.group(2), "1")), route)
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values.get(m.group(1), "1")), route)
    route = route.replace("^", "").replace("$", "").replace("\\", "").replace("/?", "/")
    route = re.sub(r"\(\[\^/\]\+\)", str(records.by_model[Member].pk), route)  # admin's simple_history
    route = re.sub(r"\.\*|\(.*?\)", "", route)
    return "/" + route.lstrip("/")


def snapshot():
    """Every domain row's values: the proof that a refused request changed nothing."""
    rows = {}
    for model in (
        Organization,
        Member,
        MembershipPeriod,
        Prospect,
        RoleAssignment,
        Transfer,
        Enterprise,
        MassOrganization,
        MembershipReturn,
        Locality,
        Target,
    ):
        rows[model.__name__] = list(model.objects.order_by("pk").values_list())
        rows[f"{model.__name__} history"] = model.history.count()
    rows["User"] = list(
        get_user_model().objects.order_by("pk").values_list("pk", "username", "is_active", "is_superuser", "password")
    )
    return rows


def body_text(response):
    """What a person would read in the response, whatever its format."""
    content_type = response.get("Content-Type", "")
    if hasattr(response, "streaming_content"):
        raw = b"".join(response.streaming_content)
    else:
        raw = response.content
    if "spreadsheetml" in content_type:
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True)
        return " ".join(str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row)
    text = raw.decode("utf-8", errors="replace")
    if "csv" in content_type:
        return " ".join(" ".join(row) for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    return text


WRITE_PAYLOAD = {
    "full_name": "Kẻ Xâm Nhập",
    "name": "Kẻ Xâm Nhập",
    "notes": "Kẻ Xâm Nhập",
    "on": "2024-06-01",
    "official_on": "2024-06-01",
    "admitted_on": "2024-06-01",
    "dissolved_on": "2024-06-01",
    "date": "2024-06-01",
    "reason": "resigned",
    "members_total": "5",
    "members_admitted": "1",
    "employees": "1",
    "value": "1",
    "year": "2024",
    "metric": "members_admitted",
}


def aimed_at_branch_a(records):
    """A create request pointing every foreign key at branch A's records."""
    tree = records.tree
    return {
        **WRITE_PAYLOAD,
        "organization": tree.branch_a.pk,
        "enterprise": tree.enterprise_a.pk,
        "managing_committee": tree.committee.pk,
        "committee": tree.committee.pk,
        "mass_organization": records.by_model[MassOrganization].pk,
        "sex": "male",
        "date_of_birth": "1990-01-01",
        "citizen_id": "001090000099",
        "identified_on": "2024-01-01",
        "tax_code": "0100109106",
        "ownership": "private",
        "size_class": "small",
        "locality": tree.commune.pk,
        "kind": "trade_union",
        "established_on": "2024-01-01",
        "founding_members": "3",
        "targets": [{"committee": tree.committee.pk, "year": 2024, "metric": "members_admitted", "value": 1}],
    }


def request(client, method, url, data, api):
    if api:
        return getattr(client, method)(url, data, content_type="application/json")
    if method == "get":
        return client.get(url, data)
    return getattr(client, method)(url, data)


def is_api(key):
    return key.startswith("api:") or key.startswith("route:api/")


# The matrix -------------------------------------------------------------------------------


def check_pattern(client, records, key, entry, patterns):
    problems = []
    api = is_api(key)
    for pattern in patterns:
        url = fill(pattern, entry, records)
        for persona in PERSONAS:
            user = getattr(records.personas, persona)
            client.force_login(user)
            before = snapshot()
            response = request(client, "get", url, entry.query, api)
            status = response.status_code
            label = f"{persona} GET {url}"
            if status >= 500:
                problems.append(f"{label}: {status}")
                continue
            text = body_text(response) if status < 300 else response.content.decode("utf-8", "replace")
            if persona == "secretary_b":
                leaked = [marker for marker in records.markers if marker in text]
                if leaked:
                    problems.append(f"{label}: shows branch A's {leaked}")
                if entry.kind in (RECORD_READ, RECORD_WRITE) and status not in (302, 403, 404, 405):
                    problems.append(f"{label}: {status}, expected 404 for another branch's record")
            if entry.kind == ADMINISTRATORS and persona != "administrator" and entry.model is not None:
                if status not in (302, 403, 404, 405):
                    problems.append(f"{label}: {status}, expected a refusal")
            if persona == "secretary_a" and entry.kind in (RECORD_READ, RECORD_WRITE) and status == 404 and not api:
                problems.append(f"{label}: 404 on the secretary's own record")
            if snapshot() != before:
                problems.append(f"{label}: a GET changed records")

            # Writes: the outsider and the read-only department change nothing.
            if persona in ("secretary_b", "department") and entry.kind not in (PUBLIC, OWN_ACCOUNT):
                for method in WRITE_METHODS:
                    payload = aimed_at_branch_a(records) if entry.kind == CREATE else WRITE_PAYLOAD
                    before = snapshot()
                    response = request(client, method, url, payload, api)
                    status = response.status_code
                    label = f"{persona} {method.upper()} {url}"
                    if status >= 500:
                        problems.append(f"{label}: {status}")
                    if snapshot() != before:
                        problems.append(f"{label}: changed records ({status})")
                    refused_here = persona == "secretary_b" and entry.kind in (RECORD_READ, RECORD_WRITE)
                    read_only_role = persona == "department" and entry.kind == RECORD_WRITE
                    if (refused_here or read_only_role) and status in (200, 201, 204):
                        problems.append(f"{label}: {status}, expected a refusal")
                    if status < 300 and response.get("Content-Type", "").startswith(("text/html", "application/json")):
                        text = response.content.decode("utf-8", "replace")
                        leaked = [marker for marker in records.markers if marker in text]
                        if persona == "secretary_b" and leaked:
                            problems.append(f"{label}: shows branch A's {leaked}")
            client.logout()
    return problems


MATRIX_KEYS = sorted(REGISTRY)


@pytest.mark.parametrize("key", MATRIX_KEYS)
def test_scope_matrix(client, records, key):
    patterns = patterns_by_key().get(key)
    assert patterns, f"{key} is in the matrix but not in the URL configuration"
    problems = check_pattern(client, records, key, REGISTRY[key], patterns)
    assert not problems, "\n".join(problems)


def test_admin_site_refuses_everyone_but_administrators(client, records):
    """Every admin URL: the three other personas are sent to the admin sign-in or refused."""
    problems = []
    admin_patterns = [
        pattern
        for key, group in patterns_by_key().items()
        if is_admin(key) and key not in ADMIN_PUBLIC
        for pattern in group
    ]
    assert len(admin_patterns) > 20
    for persona in ("secretary_a", "secretary_b", "department"):
        client.force_login(getattr(records.personas, persona))
        for pattern in admin_patterns:
            url = fill(pattern, Entry(ADMIN_SITE, Member), records)
            for method in ("get", "post"):
                before = snapshot()
                response = getattr(client, method)(url, WRITE_PAYLOAD if method == "post" else None)
                label = f"{persona} {method.upper()} {url}"
                if response.status_code not in (301, 302, 403, 404):
                    problems.append(f"{label}: {response.status_code}")
                if snapshot() != before:
                    problems.append(f"{label}: changed records")
                text = response.content.decode("utf-8", "replace")
                if any(marker in text for marker in records.markers):
                    problems.append(f"{label}: shows branch A's records")
    assert not problems, "\n".join(problems)


def test_administrator_reaches_the_admin_site(client, records):
    administrator = records.personas.administrator
    administrator.is_staff = True
    administrator.save()
    client.force_login(administrator)
    assert client.get("/admin/").status_code == 200
    assert client.get(f"/admin/branches/member/{records.by_model[Member].pk}/change/").status_code == 200


def test_secretary_is_refused_the_role_of_administrator(client, records):
    """The role switch cannot be used to take another user's role assignment."""
    client.force_login(records.personas.secretary_b)
    foreign = records.by_model[RoleAssignment]
    client.post("/role/switch/", {"assignment": foreign.pk})
    response = client.get("/members/")
    assert "Trịnh Bí Mật" not in response.content.decode()
    assert RoleAssignment.objects.filter(user=records.personas.secretary_b, role=RoleKey.SECRETARY).count() == 1


def test_matrix_dates_are_not_in_the_future():
    assert datetime.date.fromisoformat(WRITE_PAYLOAD["on"]) <= datetime.date.today()
