"""The bulk importer's fast paths give exactly what the single-record building blocks give."""

import datetime
import gc
import weakref
from contextlib import contextmanager

import pytest

from branches.models import Member
from branches.services import admitted_member_fields, build_admitted_member
from core.services import Errors, full_clean_into
from dataio import bulk
from dataio.bulk.members import EDGE_BATCH, WRITE_BATCH, batch_size
from tests.factories import EnterpriseFactory, MemberFactory

pytestmark = pytest.mark.django_db

EXCLUDE = [*bulk.MEMBER_FK_FIELDS]


def admission(organization, **overrides):
    fields = {
        "organization": organization,
        "admitted_on": datetime.date(2024, 2, 3),
        "full_name": "Nguyễn Thị Hồng",
        "sex": "female",
        "date_of_birth": datetime.date(1990, 5, 17),
        "citizen_id": "001190000001",
        "party_card_number": "",
        "enterprise": None,
        "position": "worker",
        "is_business_owner": False,
        "official_on": None,
    }
    fields.update(overrides)
    return fields


BAD_VALUES = [
    {},
    {"full_name": "Nguyễn\x00Hồng"},
    {"full_name": "x" * 201},
    {"full_name": "x" * 200, "party_card_number": "P" * 20},
    {"full_name": ""},
    {"sex": "unknown"},
    {"position": "captain"},
    {"party_card_number": "P" * 21},
    {"party_card_number": "PC\t01"},
    {"citizen_id": "12ab"},
    {"is_business_owner": True, "position": "owner"},
    {"sex": "unknown", "full_name": "a\nb", "position": "captain"},
    {"hometown": "Hà\x07Nội"},
    {"hometown": "Hà Nội\u202e"},
    {"religion": "Phật\ud800giáo"},
    {"admission_decided_by": "Đảng ủy\r\nxã"},
    {"full_name": "x" * 201 + "\x00", "hometown": "\x1f"},
    {"hometown": 12},
]


def test_field_cleaner_reports_the_same_errors_asfull_clean_into(tree):
    organization = tree.branch_a
    cleaner = bulk.FieldCleaner(Member)
    assert cleaner.fast
    build = bulk.InstanceBuilder(Member)
    for _round in range(2):  # the second round answers from the remembered values
        for overrides in BAD_VALUES:
            fields = admitted_member_fields(**admission(organization, **overrides))
            expected, found = Errors(), Errors()
            full_clean_into(Member(**fields), expected, exclude=EXCLUDE, validate_unique=False)
            cleaner(build(fields), found, exclude=EXCLUDE)
            assert {k: [str(m) for m in v] for k, v in found.items()} == {
                k: [str(m) for m in v] for k, v in expected.items()
            }, overrides


def test_field_cleaner_checks_a_default_value_the_field_refuses(tree):
    """The cleaner passes over a value that is the model's very default only when the field accepts
    that default: a name and a sex left at their defaults ("") are refused as full_clean refuses them."""
    cleaner = bulk.FieldCleaner(Member)
    assert {"full_name", "sex"}.isdisjoint(cleaner.clean_defaults)
    assert "hometown" in cleaner.clean_defaults  # blank text: accepted as it is
    build = bulk.InstanceBuilder(Member)
    fields = admitted_member_fields(**admission(tree.branch_a))
    del fields["full_name"], fields["sex"]
    expected, found = Errors(), Errors()
    full_clean_into(Member(**fields), expected, exclude=EXCLUDE, validate_unique=False)
    cleaner(build(fields), found, exclude=EXCLUDE)
    assert set(found) == set(expected) == {"full_name", "sex"}


def test_field_cleaner_checks_every_field_of_an_instance_with_deferred_values(tree):
    member = MemberFactory(organization=tree.branch_a)
    bad = {"full_name": "", "sex": "unknown", "party_card_number": "P" * 21, "position": "captain"}
    loaded = Member.objects.only("pk", *bad).get(pk=member.pk)  # the other fields deferred
    reference = Member.objects.get(pk=member.pk)
    for instance in (loaded, reference):
        for name, value in bad.items():
            setattr(instance, name, value)
    expected, found = Errors(), Errors()
    full_clean_into(reference, expected, exclude=EXCLUDE, validate_unique=False)
    bulk.FieldCleaner(Member)(loaded, found, exclude=EXCLUDE)
    assert {k: [str(m) for m in v] for k, v in found.items()} == {k: [str(m) for m in v] for k, v in expected.items()}
    assert set(found) == set(bad)


class Held:
    """Something a caller's frame holds while it calls the cleaner (as an import holds its items)."""


@contextmanager
def collector_off():
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_the_cleaner_keeps_no_frame_of_its_caller_alive(tree):
    """The errors the cleaner meets (a default it refuses while working out its defaults, a bad
    value of a row) keep no traceback: a ValidationError is a cycle, and through its traceback the
    callers' frames and their locals would wait for the cyclic collector, paused by an import."""
    build = bulk.InstanceBuilder(Member)

    def make_cleaner():
        held = Held()
        bulk.FieldCleaner(Member)  # refuses the defaults of the name and the sex
        return weakref.ref(held)

    def clean_bad_row(cleaner):
        held = Held()
        errors = Errors()
        fields = admitted_member_fields(**admission(tree.branch_a, sex="unknown", full_name=""))
        cleaner(build(fields), errors, exclude=EXCLUDE)
        return weakref.ref(held), errors

    cleaner = bulk.FieldCleaner(Member)
    with collector_off():
        assert make_cleaner()() is None
        held, errors = clean_bad_row(cleaner)
        assert held() is None
    assert set(errors) == {"sex", "full_name"}


@pytest.mark.parametrize("bad_citizen_id", [False, True])
def test_an_import_leaves_its_items_to_reference_counting(tree, secretary_a, bad_citizen_id):
    """Once an import returns, written or refused (a citizen ID the validator refuses), its items
    are freed at once, not left to the cyclic collector's next pass, which would have to go
    through every one of them."""
    from dataio.imports import import_members, sample_members_file

    data = sample_members_file(30)
    if bad_citizen_id:
        assert data.count(b"099900000007,") == 1
        data = data.replace(b"099900000007,", b"0999000000X7,")
    with collector_off():
        result = import_members(data, organization=tree.branch_a, acting_user=secretary_a)
        # (type, not isinstance: isinstance asks a weak proxy among the objects for its referent)
        left = sum(1 for thing in gc.get_objects() if type(thing) is bulk.Item)
    assert result.committed is not bad_citizen_id
    assert result.has_errors is bad_citizen_id
    assert left == 0


def test_one_search_of_all_texts_forbids_what_each_texts_own_pattern_forbids():
    """The cleaner searches all the texts of an instance at once with the single-line pattern, joined
    by spaces: that is only the same as each text's own search if the single-line pattern forbids
    every character the multi-line one does, and not the space."""
    from core.models import MULTI_LINE_FORBIDDEN, SINGLE_LINE_FORBIDDEN

    for code in range(0x110000):
        char = chr(code)
        if MULTI_LINE_FORBIDDEN.match(char):
            assert SINGLE_LINE_FORBIDDEN.match(char), hex(code)
    assert not SINGLE_LINE_FORBIDDEN.search(" ")


def test_field_cleaner_skips_excluded_fields(tree):
    cleaner = bulk.FieldCleaner(Member)
    member = bulk.InstanceBuilder(Member)(
        admitted_member_fields(**admission(tree.branch_a, full_name="a\x01b", sex="bad"))
    )
    errors = Errors()
    cleaner(member, errors, exclude=[*EXCLUDE, "full_name"])
    assert set(errors) == {"sex"}


def test_admitted_member_fields_trims_the_profile_and_refuses_unknown_fields(tree):
    fields = admitted_member_fields(
        **admission(tree.branch_a),
        hometown="  Hà Nội ",
        religion=None,
        youth_union_member_at_admission=None,
        political_theory="sơ cấp",
    )
    assert fields["hometown"] == "Hà Nội" and fields["religion"] == "" and fields["political_theory"] == "sơ cấp"
    assert fields["youth_union_member_at_admission"] is None
    assert "ethnicity" not in fields
    with pytest.raises(TypeError, match="nickname"):
        admitted_member_fields(**admission(tree.branch_a), hometown="Huế", nickname="Tí")


def test_instance_builder_builds_what_the_model_constructor_builds(tree, django_assert_num_queries):
    enterprise = EnterpriseFactory()
    fields = admitted_member_fields(**admission(tree.branch_a, enterprise=enterprise, is_business_owner=True))
    expected = build_admitted_member(**admission(tree.branch_a, enterprise=enterprise, is_business_owner=True))
    built = bulk.InstanceBuilder(Member)(fields)
    for field in Member._meta.concrete_fields:
        assert getattr(built, field.attname) == getattr(expected, field.attname), field.name
    assert built._state.adding
    with django_assert_num_queries(0):
        assert built.organization == tree.branch_a
        assert built.admitted_by == tree.branch_a
        assert built.enterprise == enterprise


def test_filter_in_finds_text_and_integer_values_in_one_query_per_kind(django_assert_max_num_queries):
    members = MemberFactory.create_batch(3)
    citizen_ids = {member.citizen_id for member in members[:2]} | {"000000000000"}
    with django_assert_max_num_queries(1):
        found = {m.pk for subset in bulk.filter_in(Member.objects.all(), "citizen_id", citizen_ids) for m in subset}
    assert found == {members[0].pk, members[1].pk}
    assert bulk.ids_in(Member.objects.all(), {members[2].pk, 10**9}) == {members[2].pk}
    assert bulk.filter_in(Member.objects.all(), "pk", set()) == []


def test_grouped_admission_rollup_update_matches_a_full_recount(tree):
    from reports import rollups
    from reports.metrics import Metric
    from reports.models import Rollup
    from reports.rollups import standing, statistics

    rollups.rebuild()
    members = Member.objects.bulk_create(  # written with no event, as a bulk writer writes
        [
            MemberFactory.build(organization=organization, admitted_on=day, is_business_owner=owner)
            for organization, day, owner in (
                (tree.branch_a, datetime.date(2024, 1, 3), False),
                (tree.branch_a, datetime.date(2024, 1, 30), True),
                (tree.branch_b, datetime.date(2024, 1, 9), True),
                (tree.branch_b, datetime.date(2023, 12, 31), False),
            )
        ]
    )
    assert rollups.differences()[0] > 0
    rollups.apply_admissions((m.admitted_by_id, m.admitted_on, m.owner_at_admission) for m in members)
    standing.refresh_organizations({m.admitted_by_id for m in members})
    statistics.refresh([m.pk for m in members], movement=False)  # the event's handler does all three
    assert rollups.differences()[0] == 0
    january = Rollup.objects.get(
        organization=tree.city, month=datetime.date(2024, 1, 1), metric=Metric.MEMBERS_ADMITTED
    ).value
    assert january >= 3


def test_member_import_keeps_the_rollups_exact(tree, secretary_a):
    from dataio.imports import import_members, sample_members_file
    from reports import rollups

    rollups.rebuild()
    result = import_members(sample_members_file(40), organization=tree.branch_a, acting_user=secretary_a)
    assert result.counts["create"] == 40 and result.committed
    assert rollups.differences()[0] == 0


def test_member_citizen_id_keeps_only_its_unique_index(db):
    """No second index (Django's LIKE-prefix one on PostgreSQL) costs every insert of an import."""
    from django.db import connection

    from branches.models import Member

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Member._meta.db_table)
    on_citizen_id = [c for c in constraints.values() if c["columns"] == ["citizen_id"] and (c["index"] or c["unique"])]
    assert len(on_citizen_id) == 1 and on_citizen_id[0]["unique"], on_citizen_id


def test_the_new_members_go_in_small_batches_at_either_end():
    """The server starts on the first rows soon, and is left little to write after the last."""
    for admissions in (1, 999, 1000, 1001, 7000, 100_000, 123_457):
        sizes, sent = [], 0
        while sent < admissions:
            size = batch_size(sent, admissions)
            sizes.append(min(size, admissions - sent))
            sent += size
        assert sum(sizes) == admissions
        assert sizes[0] <= EDGE_BATCH
        assert sizes[-1] <= EDGE_BATCH
        assert all(size <= WRITE_BATCH for size in sizes)
        if admissions >= 50_000:
            assert sizes.count(WRITE_BATCH) >= admissions // WRITE_BATCH - 2
