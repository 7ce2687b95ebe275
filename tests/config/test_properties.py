"""Property-based tests: whatever comes in, the forms and services answer with success, a
``ValidationError`` or ``PermissionDenied`` — never another exception (which would be a 500).

Each example runs inside a transaction that is rolled back, so examples do not see each other.
"""

import datetime
from contextlib import contextmanager

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import translation
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from branches import services
from branches.forms import MemberAdmitForm, MemberEditForm, ProspectForm
from branches.models import Member
from enterprises import services as enterprise_services
from enterprises.forms import EnterpriseForm, MembershipReturnForm
from tests.factories import MassOrganizationFactory, MemberFactory

PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

EXPECTED = (ValidationError, PermissionDenied)

# Text that has broken applications before: empty, blank, very long, control characters, NUL,
# right-to-left overrides, combining marks, emoji, lone surrogates, SQL and HTML.
NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "Nguyễn\x00Văn",
    "tab\there",
    "line\nbreak",
    "\u202eesrever",
    "Nguye\u0303\u0302n",
    "👩‍👩‍👧‍👦",
    "\ud800",
    "'; DROP TABLE branches_member; --",
    "<script>alert(1)</script>",
    "x" * 5000,
    "9" * 400,
    "٠١٢٣٤٥٦٧٨٩٠١",
    "００１０９０００００１２",
]
text = st.one_of(st.sampled_from(NASTY_STRINGS), st.text(max_size=300))
# Services get text from forms (decoded with replacement) or the API, which refuses lone surrogates
# (config.middleware.RejectLoneSurrogatesMiddleware): what reaches them is encodable.
service_text = text.filter(lambda value: "\ud800" not in value)
digits = st.one_of(st.text(alphabet="0123456789", min_size=0, max_size=20), text)
service_digits = digits.filter(lambda value: "\ud800" not in value)
DATE_STRINGS = ["2024-02-30", "2023-13-01", "0000-01-01", "0001-01-01", "9999-12-31", "31/12/2024", "", "yesterday"]
date_text = st.one_of(st.sampled_from(DATE_STRINGS), st.dates().map(str), text)
dates = st.one_of(st.none(), st.dates(), st.sampled_from([datetime.date.min, datetime.date.max]))
huge = st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.sampled_from([0, -1, 2**31, 2**63, 10**30]))
number_text = st.one_of(huge.map(str), st.sampled_from(["1e400", "NaN", "-0", "١٢"]), text)


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted in English (the default language is Vietnamese), in every thread."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@contextmanager
def rolled_back():
    """Run the body in a transaction that is always rolled back."""

    class Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            yield
            raise Rollback
    except Rollback:
        pass


def must_not_crash(call):
    try:
        with rolled_back():
            call()
    except EXPECTED:
        pass


def pk_choices(tree, *names):
    """Ids in scope, out of scope and of nothing at all, and not ids."""
    return st.sampled_from([str(getattr(tree, name).pk) for name in names] + ["999999", "-1", "abc", "", "1e3"])


# Members ----------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(data=st.data())
def test_member_admission_form_then_service_never_crash(tree, secretary_a, data):
    form_data = {
        "organization": data.draw(pk_choices(tree, "branch_a", "branch_b", "committee")),
        "admitted_on": data.draw(date_text),
        "full_name": data.draw(text),
        "sex": data.draw(st.sampled_from(["male", "female", "other", "", "x" * 50])),
        "date_of_birth": data.draw(date_text),
        "citizen_id": data.draw(digits),
        "party_card_number": data.draw(digits),
        "enterprise": data.draw(pk_choices(tree, "enterprise_a", "enterprise_b")),
        "position": data.draw(st.sampled_from(["worker", "owner", "manager", "pope", ""])),
        "is_business_owner": data.draw(st.sampled_from(["on", "", "yes", "\x00"])),
        "official_on": data.draw(date_text),
    }
    form = MemberAdmitForm(form_data, user=secretary_a)
    if form.is_valid():
        must_not_crash(lambda: services.admit_member(secretary_a, **form.values()))


@PROPERTY_SETTINGS
@given(
    full_name=text,
    citizen_id=service_digits,
    party_card_number=service_digits,
    date_of_birth=dates,
    admitted_on=dates,
    official_on=dates,
    other_scope=st.booleans(),
)
@example(
    full_name="Lê Văn Tám",
    citizen_id="001090000001",
    party_card_number="",
    date_of_birth=datetime.date(1990, 1, 1),
    admitted_on=datetime.date(2024, 1, 1),
    official_on=None,
    other_scope=False,
)
def test_admit_member_service_never_crashes(
    tree, secretary_a, full_name, citizen_id, party_card_number, date_of_birth, admitted_on, official_on, other_scope
):
    def call():
        services.admit_member(
            secretary_a,
            organization=tree.branch_b if other_scope else tree.branch_a,
            admitted_on=admitted_on,
            full_name=full_name,
            sex="female",
            date_of_birth=date_of_birth,
            citizen_id=citizen_id,
            party_card_number=party_card_number,
            enterprise=tree.enterprise_b if other_scope else tree.enterprise_a,
            official_on=official_on,
        )

    must_not_crash(call)


@pytest.fixture
def member(tree):
    return MemberFactory(organization=tree.branch_a, is_business_owner=False)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_member_edit_form_then_service_never_crash(tree, secretary_a, member, data):
    form_data = {
        "full_name": data.draw(text),
        "sex": data.draw(st.sampled_from(["male", "female", "?"])),
        "date_of_birth": data.draw(date_text),
        "citizen_id": data.draw(digits),
        "party_card_number": data.draw(digits),
        "enterprise": data.draw(pk_choices(tree, "enterprise_a", "enterprise_b")),
        "position": data.draw(st.sampled_from(["worker", "manager", "?"])),
    }
    form = MemberEditForm(form_data, instance=member, user=secretary_a)
    version = data.draw(st.one_of(st.none(), huge, text))
    if form.is_valid():
        must_not_crash(lambda: services.update_member(secretary_a, member, expected_version=version, **form.values()))


@PROPERTY_SETTINGS
@given(
    changes=st.fixed_dictionaries(
        {},
        optional={
            "full_name": text,
            "citizen_id": service_digits,
            "party_card_number": service_digits,
            "date_of_birth": st.dates(),
            "position": st.sampled_from(["worker", "owner", "bishop", ""]),
            "admitted_on": st.dates(),
            "enterprise": st.sampled_from(["enterprise_a", "enterprise_b"]),
        },
    ),
    outsider=st.booleans(),
)
def test_update_member_service_never_crashes(tree, secretary_a, secretary_b, member, changes, outsider):
    if "enterprise" in changes:
        changes["enterprise"] = getattr(tree, changes["enterprise"])
    must_not_crash(lambda: services.update_member(secretary_b if outsider else secretary_a, member, **changes))


@PROPERTY_SETTINGS
@given(data=st.data())
def test_prospect_form_then_service_never_crash(tree, secretary_a, data):
    form_data = {
        "full_name": data.draw(text),
        "sex": data.draw(st.sampled_from(["male", "female", ""])),
        "date_of_birth": data.draw(date_text),
        "citizen_id": data.draw(digits),
        "enterprise": data.draw(pk_choices(tree, "enterprise_a", "enterprise_b")),
        "position": "worker",
        "organization": data.draw(pk_choices(tree, "branch_a", "branch_b")),
        "identified_on": data.draw(date_text),
        "course_completed_on": data.draw(date_text),
        "dossier_completed_on": data.draw(date_text),
        "notes": data.draw(text),
    }
    form = ProspectForm(form_data, user=secretary_a)
    if form.is_valid():
        must_not_crash(lambda: services.create_prospect(secretary_a, **form.values()))


# Enterprises and mass organisations -------------------------------------------------------


@PROPERTY_SETTINGS
@given(data=st.data())
def test_enterprise_form_then_service_never_crash(tree, secretary_a, data):
    form_data = {
        "tax_code": data.draw(st.one_of(digits, st.sampled_from(["0100109106", "0100109106-001", "0100109107"]))),
        "name": data.draw(text),
        "ownership": data.draw(st.sampled_from(["private", "joint_stock", "foreign", "state", ""])),
        "locality": data.draw(pk_choices(tree, "province", "commune")),
        "industrial_park": data.draw(text),
        "address": data.draw(text),
        "size_class": data.draw(st.sampled_from(["micro", "small", "large", "huge"])),
        "employees": data.draw(number_text),
        "operating_status": data.draw(st.sampled_from(["operating", "ceased", "?"])),
        "managing_committee": data.draw(pk_choices(tree, "committee", "city", "branch_a")),
    }
    form = EnterpriseForm(form_data, user=secretary_a)
    if form.is_valid():
        must_not_crash(lambda: enterprise_services.create_enterprise(secretary_a, **form.values()))


@PROPERTY_SETTINGS
@given(
    changes=st.fixed_dictionaries(
        {},
        optional={
            "name": text,
            "tax_code": service_digits,
            "employees": huge,
            "address": text,
            "industrial_park": text,
            "managing_committee": st.sampled_from(["committee", "city", "branch_b"]),
            "size_class": st.sampled_from(["micro", "huge", ""]),
        },
    ),
    outsider=st.booleans(),
)
def test_update_enterprise_service_never_crashes(tree, secretary_a, secretary_b, changes, outsider):
    if "managing_committee" in changes:
        changes["managing_committee"] = getattr(tree, changes["managing_committee"])
    user = secretary_b if outsider else secretary_a
    must_not_crash(lambda: enterprise_services.update_enterprise(user, tree.enterprise_a, **changes))


@PROPERTY_SETTINGS
@given(data=st.data())
def test_membership_return_form_and_service_never_crash(tree, secretary_a, data):
    mass = MassOrganizationFactory(enterprise=tree.enterprise_a, established_on=datetime.date(2020, 1, 1))
    form_data = {
        "date": data.draw(date_text),
        "members_total": data.draw(number_text),
        "members_admitted": data.draw(number_text),
    }
    form = MembershipReturnForm(form_data, mass_organization=mass, user=secretary_a)
    if form.is_valid():
        must_not_crash(lambda: enterprise_services.record_membership_return(secretary_a, mass, **form.cleaned_data))
    raw_total, raw_admitted, raw_date = data.draw(huge), data.draw(huge), data.draw(dates)
    must_not_crash(
        lambda: enterprise_services.record_membership_return(
            secretary_a, mass, date=raw_date, members_total=raw_total, members_admitted=raw_admitted
        )
    )


@PROPERTY_SETTINGS
@given(
    kind=st.sampled_from(["trade_union", "youth_union", "cult", ""]),
    name=text,
    established_on=dates,
    founding_members=huge,
    outsider=st.booleans(),
)
def test_establish_mass_organization_never_crashes(
    tree, secretary_a, secretary_b, kind, name, established_on, founding_members, outsider
):
    user = secretary_b if outsider else secretary_a
    must_not_crash(
        lambda: enterprise_services.establish_mass_organization(
            user,
            enterprise=tree.enterprise_a,
            kind=kind,
            name=name,
            established_on=established_on,
            founding_members=founding_members,
        )
    )


# The rules the properties rely on ---------------------------------------------------------


@pytest.mark.parametrize(
    "bad_name",
    [
        "Nguyễn\x00Văn",
        "tab\there",
        "\ud800",
        "bell\x07",
        # C1 controls and bidirectional overrides, isolates and marks (issue 17, finding 12)
        "Nguyễn\x85Văn",
        "Nguyễn\x9fVăn",
        "Nguyễn \u202egnaV",
        "Nguyễn \u202aVăn",
        "Nguyễn \u2066Văn\u2069",
        "Nguyễn\u200fVăn",
        "Nguyễn\u200eVăn",
    ],
)
def test_control_characters_in_a_name_are_refused(tree, secretary_a, bad_name):
    with pytest.raises(ValidationError) as exc:
        services.admit_member(
            secretary_a,
            organization=tree.branch_a,
            admitted_on=datetime.date(2024, 1, 1),
            full_name=bad_name,
            sex="male",
            date_of_birth=datetime.date(1990, 1, 1),
            citizen_id="001090000001",
        )
    assert "full_name" in exc.value.message_dict
    assert not Member.objects.exists()


def test_unusual_but_valid_unicode_names_are_kept(tree, secretary_a):
    name = "Nguye\u0303\u0302n Thị 👩‍👩‍👧 \u200d"
    member = services.admit_member(
        secretary_a,
        organization=tree.branch_a,
        admitted_on=datetime.date(2024, 1, 1),
        full_name=name,
        sex="female",
        date_of_birth=datetime.date(1990, 1, 1),
        citizen_id="001090000001",
    )
    assert Member.objects.get(pk=member.pk).full_name == name


def test_a_huge_membership_number_is_a_validation_error(tree, secretary_a):
    mass = MassOrganizationFactory(enterprise=tree.enterprise_a, established_on=datetime.date(2020, 1, 1))
    with pytest.raises(ValidationError):
        enterprise_services.record_membership_return(
            secretary_a, mass, date=datetime.date(2024, 1, 1), members_total=10**30, members_admitted=1
        )
