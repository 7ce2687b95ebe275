"""Bulk services: admit and update many members (create and update many enterprises, record many
returns) in one transaction, with a constant number of queries however many rows.

They enforce the rules of the single-record services (``branches.services.admit_member`` /
``update_member``, ``enterprises.services.create_enterprise`` / ``update_enterprise`` /
``record_membership_return``) by calling the same check functions, with the facts those checks
would query (who holds a citizen ID, which enterprises the user sees, ...) preloaded for the whole
batch. Every write is recorded in the history with the acting user, one date and one change
reason, so an import shows as one change set.

Each function takes a list of *items* (one per input row) and fills in, per item, its
``action`` (create, update, unchanged or error), its ``errors`` (field → messages) and its
``changes`` (field → (before, after)); it writes only when no item has an error.
"""

import gc
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import MaxLengthValidator
from django.db import connections, models, transaction
from django.db.models.base import ModelState
from django.db.models.expressions import DatabaseDefault, RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches import events as branch_events
from branches.approvals import Locks
from branches.choices import MEMBER_PROFILE_FIELDS
from branches.models import Member, MembershipPeriod, Organization
from branches.services import (
    MEMBER_EDITABLE_FIELDS,
    OUT_OF_SCOPE_HOLDER,
    MemberHolders,
    admitted_member_fields,
    check_admission,
    check_enterprise,
    check_member_facts,
    check_person,
    require_editable,
)
from core.dates import same_day
from core.events import publish
from core.models import (
    MULTI_LINE_FORBIDDEN,
    SINGLE_LINE_FORBIDDEN,
    TimestampedModel,
    fill_derived_text,
    with_derived_fields,
)
from core.services import Errors, full_clean_into
from enterprises import events as enterprise_events
from enterprises.models import Enterprise
from security.access import note_scope_probe

CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"
#: ``TimestampedModel.clean_fields``' message (see :class:`FieldCleaner`).
CONTROL_CHARACTERS_MESSAGE = gettext_lazy("Remove the control characters from this text.")
ACTIONS = (CREATE, UPDATE, UNCHANGED, ERROR)

#: Rows per UPDATE statement (and INSERT where COPY is not used).
BATCH_SIZE = 2000
#: Values per ``IN (...)`` look-up.
LOOKUP_CHUNK = 10_000

#: Lifecycle facts that only their own services change (transfer, recognition).
MEMBER_LIFECYCLE_FIELDS = (
    "organization",
    "admitted_on",
    "official_on",
    "dossier_reviewed_on",
    "over_age_approved",
    "over_age_approval_reference",
    "ceremony_on",
)
MEMBER_FK_FIELDS = ("organization", "admitted_by", "enterprise")
#: Fields an admission's :class:`FieldCleaner` leaves out when the row has no error (see
#: :func:`_plan_admission`).
ADMISSION_EXCLUDE = frozenset((*MEMBER_FK_FIELDS, "citizen_id"))


@dataclass
class Item:
    """One input row of a bulk service.

    ``values``: field → value (foreign keys as model instances); ``given``: the fields the row
    speaks about (a column left out of the file changes nothing); ``errors``: may arrive
    pre-filled with errors found while reading the cell (those fields are not checked again).
    """

    values: dict
    given: frozenset = frozenset()
    errors: Errors = field(default_factory=Errors)
    action: str = ""
    instance: object = None
    changes: dict = field(default_factory=dict)
    reference: object = None

    def error(self, name, message):
        self.errors.add(name, message)

    def merge(self, rule_errors):
        """Add errors of the rule checks, except on fields whose cell could not be read."""
        for name, messages in rule_errors.items():
            if name in self.errors:
                continue
            for message in messages:
                self.errors.add(name, message)


@contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector for the length of a bulk import (also a decorator).

    Reading and checking a large file creates millions of objects (cells, rows, model instances)
    that all live to the end: the collector's passes traverse them again and again and free
    nothing (about 2 s of an 18 s import of 100,000 members). Reference counting still frees
    everything outside cycles, and the collector runs as usual afterwards. It is process-wide:
    other threads' cycles wait for the end as well.
    """
    if not gc.isenabled():  # paused already (a nested import, another thread): leave it to them
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _chunks(values, size=LOOKUP_CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def filter_in(queryset, lookup, values):
    """``queryset`` filtered on ``lookup`` among ``values``, as one or more querysets.

    PostgreSQL: one query, the values passed as one array parameter (parsing an ``IN`` list of
    thousands of placeholders costs more than the look-up). Elsewhere: one query per
    LOOKUP_CHUNK values.
    """
    values = sorted(values)
    if not values:
        return []
    if _postgres(connections[queryset.db]):
        kind = "bigint" if all(type(value) is int for value in values) else "text"
        array = RawSQL(f"SELECT unnest(CAST(%s AS {kind}[]))", [values])  # noqa: S611 - a constant type name
        return [queryset.filter(**{f"{lookup}__in": array})]
    return [queryset.filter(**{f"{lookup}__in": chunk}) for chunk in _chunks(values)]


def _ids_in(queryset, ids):
    """The ids among ``ids`` that ``queryset`` holds (see :func:`filter_in`)."""
    found = set()
    for subset in filter_in(queryset, "pk", ids):
        found.update(subset.values_list("pk", flat=True))
    return found


def _pks_of(objects):
    """The primary keys of ``objects`` (model instances; empty values skipped), each distinct
    instance asked once."""
    distinct = {id(obj): obj for obj in objects if obj}
    return {obj.pk for obj in distinct.values()}


def _report_duplicates(items, key, field_name, message):
    """Rows of the file that share a value of ``key`` each get ``message`` naming the other rows."""
    values = [key(item) for item in items]
    present = [value for value in values if value]
    if len(set(present)) == len(present):  # the usual case: no value repeated
        return
    counted = Counter(values)
    repeated = {}  # value → all its rows, when more than one
    for index, value in enumerate(values):
        if value and counted[value] > 1:
            repeated.setdefault(value, []).append(index)
    for indexes in repeated.values():
        for index in indexes:
            others = ", ".join(str(items[i].reference) for i in indexes if i != index)
            items[index].error(field_name, message % {"rows": others})


class FieldCleaner:
    """``full_clean(exclude, validate_unique=False, validate_constraints=False)`` for the many
    instances of one model a bulk service builds, with the same errors, faster.

    A field's ``clean`` of a value does not depend on the instance for the fields listed in
    ``CACHED_TYPES`` (dates, booleans, numbers, choices): a value accepted once is not cleaned
    again. Only models that keep Django's ``clean`` and :class:`TimestampedModel`'s
    ``clean_fields`` take this path; any other gets ``full_clean`` itself.
    """

    CACHED_TYPES = (models.BooleanField, models.DateField, models.IntegerField)

    def __init__(self, model):
        self.fast = (
            issubclass(model, TimestampedModel)
            and model.clean is models.Model.clean
            and model.clean_fields is TimestampedModel.clean_fields
            and model.full_clean is models.Model.full_clean
        )
        self.fields = [field for field in model._meta.fields if not field.generated]
        self.cached = {
            field.name
            for field in self.fields
            if isinstance(field, self.CACHED_TYPES) or (field.choices and not field.is_relation)
        }
        self.text_fields = [
            (field, MULTI_LINE_FORBIDDEN if isinstance(field, models.TextField) else SINGLE_LINE_FORBIDDEN)
            for field in model._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField)
        ]
        self.accepted = {}
        self.checks = {}

    @staticmethod
    def _plain_text_limit(field):
        """For a CharField without choices whose only validator is its maximum length: that length.

        ``clean`` of a non-empty ``str`` within it returns the value unchanged and raises nothing
        (``to_python`` keeps strings, ``validate`` only refuses empty values and unknown choices);
        anything else goes through ``clean`` itself. Otherwise 0.
        """
        if type(field) is not models.CharField or field.choices or not field.max_length:
            return 0
        validators = field.validators
        if len(validators) != 1 or type(validators[0]) is not MaxLengthValidator:
            return 0
        return field.max_length if validators[0].limit_value == field.max_length else 0

    def _checks(self, exclude):
        """The fields to clean and the texts to search, less ``exclude`` (computed once per set).

        Per field: name, attname, whether its value sits in the instance's ``__dict__`` (not a
        relation), whether accepted values are remembered, :meth:`_plain_text_limit`, the values
        that skip it (its empty values when blank), and the field.
        """
        key = exclude if type(exclude) is frozenset else frozenset(exclude)
        checks = self.checks.get(key)
        if checks is None:
            fields = [
                (
                    field.name,
                    field.attname,
                    not field.is_relation,
                    field.name in self.cached,
                    self._plain_text_limit(field),
                    field.empty_values if field.blank else (),
                    field,
                )
                for field in self.fields
                if field.name not in key
            ]
            texts = [
                (field.name, field.attname, pattern) for field, pattern in self.text_fields if field.name not in key
            ]
            checks = self.checks[key] = (fields, texts)
        return checks

    def __call__(self, instance, errors, exclude=()):
        if not self.fast:
            full_clean_into(instance, errors, exclude=set(exclude), validate_unique=False)
            return
        fields, texts = self._checks(exclude)
        values = instance.__dict__
        found = {}
        accepted = self.accepted
        for name, attname, plain, cached, text_limit, skipped, model_field in fields:  # Model.clean_fields
            # A plain field's value is in the instance's __dict__ (unless deferred); relations go
            # through their descriptor, as in Model.clean_fields.
            raw = values[attname] if plain and attname in values else getattr(instance, attname)
            if text_limit and type(raw) is str and raw and len(raw) <= text_limit:
                continue  # what CharField.clean accepts unchanged (see _plain_text_limit)
            if raw in skipped:
                continue
            if cached:
                key = (name, type(raw), raw)
                known = accepted.get(key)  # never a DatabaseDefault: those are not cleaned
                if known is not None:
                    # Equal values of one type (dates, numbers, texts) are interchangeable: the
                    # instance keeps its own unless clean() changed the value.
                    if not known[1]:
                        setattr(instance, attname, known[0])
                    continue
            if isinstance(raw, DatabaseDefault):
                continue
            try:
                value = model_field.clean(raw, instance)
            except ValidationError as exc:
                found[name] = exc.error_list
                continue
            setattr(instance, attname, value)
            if cached:
                accepted[key] = (value, type(value) is type(raw) and value == raw)
        for name, attname, pattern in texts:  # TimestampedModel.clean_fields
            if name in found:
                continue
            value = getattr(instance, attname, None)
            if isinstance(value, str) and pattern.search(value):
                found[name] = [CONTROL_CHARACTERS_MESSAGE]
        if found:
            for name, messages in ValidationError(found).message_dict.items():
                for message in messages:
                    errors.add(name, message)


class InstanceBuilder:
    """Unsaved instances of one model from field → value, like ``model(**values)``, without
    ``Model.__init__`` per row (its defaults are taken once). Signals are not sent: the
    instances are written by :func:`insert_with_history`, never ``save()``d.
    """

    def __init__(self, model):
        self.model = model
        prototype = model()
        self.defaults = {field.attname: getattr(prototype, field.attname) for field in model._meta.concrete_fields}
        self.relations = [(field.name, field.attname) for field in model._meta.concrete_fields if field.is_relation]

    def __call__(self, values):
        instance = self.model.__new__(self.model)
        attributes = {**self.defaults, **values}
        related = {}
        for name, attname in self.relations:  # a relation given as an object: its id, the object cached
            if name in values:
                value = attributes.pop(name)
                attributes[attname] = None if value is None else value.pk
                related[name] = value
        instance.__dict__.update(attributes)
        instance._state = ModelState()
        instance._state.fields_cache = related
        return instance


def _finish(items):
    for item in items:
        if item.errors:
            item.action = ERROR
    return items


def has_errors(items):
    return any(item.action == ERROR for item in items)


def counts(items):
    result = dict.fromkeys(ACTIONS, 0)
    for item in items:
        result[item.action] += 1
    return result


# Members ----------------------------------------------------------------------------------


def _clean_text(value):
    return value.strip() if isinstance(value, str) else value


@same_day()
def plan_members(acting_user, *, organization, items, lock=False):
    """Decide, for each item, whether it admits a new member, updates one or changes nothing.

    A row is about an existing member when its citizen ID (or else its Party card number) is
    recorded. New members go to ``values["organization"]`` or else ``organization``; both must
    be in ``organization``'s subtree and editable by ``acting_user`` (``PermissionDenied`` when
    ``organization`` itself is not). With ``lock``, matched members are locked (PostgreSQL).
    """
    plan = _member_planner(acting_user, organization=organization, items=items, lock=lock)
    for item in items:
        plan(item)
    return _finish(items)


def _member_planner(acting_user, *, organization, items, lock):
    """The queries and the checks across rows of :func:`plan_members`; returns the function that
    plans one item (no queries: it may run while a COPY is open)."""
    require_editable(acting_user, organization)
    citizen_ids, cards = set(), set()
    for item in items:
        values = item.values
        for name in ("citizen_id", "party_card_number", "full_name"):
            if name in values:
                values[name] = _clean_text(values[name] or "")
        citizen_ids.add(values.get("citizen_id"))
        cards.add(values.get("party_card_number"))
    citizen_ids -= {"", None}
    cards -= {"", None}
    # First the ids of the members holding the file's citizen IDs or Party cards (index look-ups
    # only), then, when there are any, those members with their organisation and enterprise. The
    # Party card's unique index is partial (non-empty cards): the query says so, or PostgreSQL
    # cannot use it and reads the whole table.
    holder_ids = set()
    for queryset, lookup, values in (
        (Member.objects.order_by(), "citizen_id", citizen_ids),
        (Member.objects.order_by().exclude(party_card_number=""), "party_card_number", cards),
    ):
        for subset in filter_in(queryset, lookup, values):
            holder_ids.update(subset.values_list("pk", flat=True))
    members = {}
    matched = Member.objects.select_related("organization", "enterprise")
    if lock:
        matched = matched.select_for_update(of=("self",))
    for subset in filter_in(matched, "pk", holder_ids):
        for member in subset:
            members[member.pk] = member
    by_citizen_id = {member.citizen_id: member for member in members.values()}
    by_card = {member.party_card_number: member for member in members.values() if member.party_card_number}
    editable_members = _ids_in(Member.objects.editable_by(acting_user), members)
    visible_members = _ids_in(Member.objects.visible_to(acting_user), set(members) - editable_members)
    holders = MemberHolders(
        {cid: member.pk for cid, member in by_citizen_id.items()},
        {card: member.pk for card, member in by_card.items()},
        visible=editable_members | visible_members,
    )

    organization_ids = _pks_of(item.values.get("organization") for item in items)
    organization_ids.add(organization.pk)
    editable_organizations = _ids_in(Organization.objects.editable_by(acting_user), organization_ids)
    enterprise_ids = _pks_of(item.values.get("enterprise") for item in items)
    visible_enterprises = _ids_in(Enterprise.objects.visible_to(acting_user), enterprise_ids)

    _report_duplicates(
        items,
        lambda item: item.values.get("citizen_id"),
        "citizen_id",
        _("This citizen ID is also on row(s) %(rows)s of the file."),
    )
    _report_duplicates(
        items,
        lambda item: item.values.get("party_card_number"),
        "party_card_number",
        _("This Party card number is also on row(s) %(rows)s of the file."),
    )
    for item in items:
        existing = by_citizen_id.get(item.values.get("citizen_id"))
        if existing is None and item.values.get("party_card_number"):
            existing = by_card.get(item.values["party_card_number"])
        item.instance = existing
    _report_duplicates(
        items,
        lambda item: item.instance.pk if item.instance is not None and not item.errors else None,
        "citizen_id",
        _("Row(s) %(rows)s of the file are about the same member."),
    )

    context = {
        "acting_user": acting_user,
        "organization": organization,
        "holders": holders,
        "editable_members": editable_members,
        "editable_organizations": editable_organizations,
        "visible_enterprises": visible_enterprises,
        "build_member": InstanceBuilder(Member),
        "clean": FieldCleaner(Member),
        "locks": Locks(),
    }

    def plan(item):
        if item.instance is None:
            _plan_admission(item, **context)
        else:
            _plan_member_update(item, **context)

    return plan


def _check_destination_scope(errors, organization, destination, editable_organizations):
    if not destination.path.startswith(organization.path) or destination.pk not in editable_organizations:
        errors.add(
            "organization",
            _("%(org)s is not within %(scope)s, the organisation you import into.")
            % {"org": destination, "scope": organization},
        )


def _plan_admission(
    item,
    *,
    acting_user,
    organization,
    holders,
    editable_organizations,
    visible_enterprises,
    build_member,
    clean,
    locks,
    **_context,
):
    get = item.values.get
    destination = get("organization") or organization
    admitted_on, date_of_birth, official_on = get("admitted_on"), get("date_of_birth"), get("official_on")
    citizen_id, party_card_number = get("citizen_id") or "", get("party_card_number") or ""
    enterprise = get("enterprise")
    errors = Errors()
    _check_destination_scope(errors, organization, destination, editable_organizations)
    check_admission(
        errors,
        organization=destination,
        admitted_on=admitted_on,
        date_of_birth=date_of_birth,
        official_on=official_on,
        dossier_reviewed_on=get("dossier_reviewed_on"),
        over_age_approved=bool(get("over_age_approved")),
        over_age_approval_reference=get("over_age_approval_reference") or "",
        ceremony_on=get("ceremony_on"),
        position=get("position") or "worker",
        is_business_owner=bool(get("is_business_owner")),
    )
    check_person(
        errors,
        citizen_id=citizen_id,
        party_card_number=party_card_number,
        date_of_birth=date_of_birth,
        holders=holders,
        acting_user=acting_user,
    )
    check_enterprise(errors, acting_user, enterprise, visible_ids=visible_enterprises)
    locks.check(errors, destination, admitted_on, "admitted_on")
    member = build_member(
        admitted_member_fields(
            organization=destination,
            admitted_on=admitted_on,
            full_name=get("full_name"),
            sex=get("sex"),
            date_of_birth=date_of_birth,
            citizen_id=citizen_id,
            party_card_number=party_card_number,
            enterprise=enterprise,
            position=get("position") or "worker",
            is_business_owner=bool(get("is_business_owner")),
            official_on=official_on,
            dossier_reviewed_on=get("dossier_reviewed_on"),
            over_age_approved=bool(get("over_age_approved")),
            over_age_approval_reference=get("over_age_approval_reference") or "",
            admission_decision_number=get("admission_decision_number") or "",
            admission_decided_by=get("admission_decided_by") or "",
            ceremony_on=get("ceremony_on"),
            **{name: get(name) for name in MEMBER_PROFILE_FIELDS if name in item.given},
        )
    )
    # The citizen ID passed validate_citizen_id (12 digits: the field accepts it) or has its error.
    if errors or item.errors:
        exclude = [*ADMISSION_EXCLUDE, *(f for f in ("date_of_birth", "admitted_on") if f in errors)]
        exclude += [name for name in item.errors if name not in exclude]
    else:
        exclude = ADMISSION_EXCLUDE
    clean(member, errors, exclude=exclude)
    item.merge(errors)
    item.instance = member
    item.action = CREATE


def _same(before, after):
    if hasattr(before, "pk") or hasattr(after, "pk"):
        return getattr(before, "pk", None) == getattr(after, "pk", None)
    return before == after


def _plan_member_update(
    item, *, acting_user, organization, holders, editable_members, visible_enterprises, clean, **_context
):
    member = item.instance
    values = item.values
    if not holders.visible_to(member.pk, acting_user):
        item.error("citizen_id", str(OUT_OF_SCOPE_HOLDER))
        note_scope_probe(acting_user, "citizen_id")
        item.action = ERROR
        return
    if member.pk not in editable_members or not member.organization.path.startswith(organization.path):
        item.error(
            "citizen_id",
            _(
                "This person is already recorded as a member outside the organisation you import into; "
                "the organisation keeping the record must change it."
            ),
        )
        item.action = ERROR
        return
    for name in MEMBER_LIFECYCLE_FIELDS:
        if name in item.given and values.get(name) is not None and name not in item.errors:
            if not _same(getattr(member, name), values[name]):
                item.error(
                    name,
                    _(
                        "An import does not change this: it was %(before)s. Transfers and recognition "
                        "as an official member are recorded on the member's page."
                    )
                    % {"before": getattr(member, name) or "—"},
                )
    changes = {}
    for name in MEMBER_EDITABLE_FIELDS:
        if name not in item.given or name in item.errors:
            continue
        after = values.get(name)
        if name in (
            "citizen_id",
            "party_card_number",
            "full_name",
            "admission_decision_number",
            "admission_decided_by",
        ):
            after = after or ""
        elif name == "position":
            after = after or "worker"
        elif name == "is_business_owner":
            after = bool(after)
        elif name in MEMBER_PROFILE_FIELDS and name != "youth_union_member_at_admission":
            after = after or ""
        before = getattr(member, name)
        if not _same(before, after):
            changes[name] = (before, after)
    item.changes = changes
    if not changes:
        item.action = UNCHANGED
        return
    for name, (_before, after) in changes.items():
        setattr(member, name, after)
    errors = Errors()
    check_person(
        errors,
        citizen_id=member.citizen_id,
        party_card_number=member.party_card_number,
        date_of_birth=member.date_of_birth,
        member=member,
        holders=holders,
        acting_user=acting_user,
    )
    if "enterprise" in changes:
        check_enterprise(errors, acting_user, member.enterprise, visible_ids=visible_enterprises)
    check_member_facts(errors, member, changed=changes)
    exclude = [*MEMBER_FK_FIELDS, "citizen_id", *(f for f in ("date_of_birth",) if f in errors)]
    clean(member, errors, exclude=exclude)
    item.merge(errors)
    item.action = UPDATE


def _postgres(connection):
    return connection.vendor == "postgresql"


def _reserve_ids(connection, model, count):
    """``count`` fresh ids for ``model`` (one or two queries).

    PostgreSQL: values taken from the id sequence. SQLite: the ids after the highest ever given
    (``sqlite_sequence`` of the AUTOINCREMENT key); SQLite runs one writer at a time, and a
    concurrent insert would make this one fail on the primary key, never mix rows.
    """
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if _postgres(connection):
            # One row back: the range when the values are consecutive (no concurrent insert took
            # any in between), otherwise every value. The sequence is looked up once, in a
            # sub-query: pg_get_serial_sequence() per row would cost ten times the nextval()s.
            cursor.execute(
                "SELECT MIN(v), MAX(v), CASE WHEN MAX(v) - MIN(v) + 1 <> COUNT(*) THEN array_agg(v) END "
                "FROM (SELECT nextval((SELECT CAST(pg_get_serial_sequence(%s, %s) AS regclass))) AS v "
                "FROM generate_series(1, %s)) s",
                [table, column, count],
            )
            first, last, values = cursor.fetchone()
            return sorted(values) if values is not None else list(range(first, last + 1))
        quoted = connection.ops.quote_name(table)
        cursor.execute(
            f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "  # noqa: S608
            f"COALESCE((SELECT MAX({connection.ops.quote_name(column)}) FROM {quoted}), 0))",
            [table],
        )
        start = cursor.fetchone()[0] + 1
        return list(range(start, start + count))


def _copy_rows(connection, table, fields, rows):
    """COPY ``rows`` (tuples of values in the order of ``fields``) into ``table`` (one statement)."""
    with _copy_writer(connection, table, fields) as write:
        for row in rows:
            write(row)


@contextmanager
def _copy_writer(connection, table, fields):
    """A COPY into ``table`` open for the length of the block: yields the function that writes one
    row (a tuple of values in the order of ``fields``). No other statement can run meanwhile.

    Binary format, each column dumped as its field's database type by psycopg (in C with
    psycopg[binary]): no text to format in Python nor to parse on the server, five to ten times
    faster than COPY text lines built in Python. Text format, each value dumped as psycopg
    would pass it as a parameter, when psycopg does not know a column's type. An exception in
    the block abandons the COPY (the transaction must then roll back, or back to a savepoint).
    """
    from psycopg import sql

    with connection.cursor() as cursor:
        registry = cursor.cursor.adapters.types
        types = []
        for model_field in fields:
            # "varchar(200)" → "varchar", "numeric(12, 2)" → "numeric"; PostgreSQL's own spellings.
            info = registry.get((model_field.db_type(connection) or "").split("(")[0].strip())
            types.append(info.name if info is not None else None)
        binary = None not in types
        statement = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
            sql.Identifier(table),
            sql.SQL(", ").join(sql.Identifier(model_field.column) for model_field in fields),
            sql.SQL(" (FORMAT BINARY)" if binary else ""),
        )
        with cursor.cursor.copy(statement) as copy:
            if binary:
                copy.set_types(types)
            # Streamed: psycopg sends a buffer of rows while the server inserts the previous one.
            yield copy.write_row


HISTORY_FIELDS = ("history_date", "history_change_reason", "history_type", "history_user")


def _history_fields(model, fields):
    """The fields of ``model``'s history table holding ``fields``, then HISTORY_FIELDS; None when
    the history does not keep every one of ``fields``."""
    history_meta = model.history.model._meta
    by_attname = {field.attname: field for field in history_meta.concrete_fields}
    if not all(field.attname in by_attname for field in fields):
        return None
    return [by_attname[field.attname] for field in fields] + [history_meta.get_field(n) for n in HISTORY_FIELDS]


def _copy_with_history(connection, model, fields, objs, *, user, reason, date, history_type, table=True):
    """PostgreSQL: each row's values read once, COPYed into the table (unless ``table`` is false:
    the rows are in it already) and, with the history columns appended, into its history table.
    False when the history does not keep every field."""
    history_fields = _history_fields(model, fields)
    if history_fields is None:
        return False
    values_of = attrgetter(*(field.attname for field in fields))
    if table:
        rows = []
        with _copy_writer(connection, model._meta.db_table, fields) as write:
            for obj in objs:  # each row read while the server inserts the previous ones
                row = values_of(obj)
                rows.append(row)
                write(row)
    else:
        rows = [values_of(obj) for obj in objs]
    constant = (date, reason, history_type, getattr(user, "pk", None))
    _copy_rows(connection, model.history.model._meta.db_table, history_fields, (row + constant for row in rows))
    return True


def _insert(connection, table, fields, rows):
    """Insert ``rows`` (values in the order of ``fields``) in one statement.

    PostgreSQL: COPY (see :func:`_copy_rows`). Elsewhere: one ``executemany`` of prepared values.
    """
    if _postgres(connection):
        _copy_rows(connection, table, fields, rows)
        return
    columns = [field.column for field in fields]
    quote = connection.ops.quote_name
    statement = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(table), ", ".join(quote(column) for column in columns), ", ".join(["%s"] * len(columns))
    )
    prepared = [
        [field.get_db_prep_save(value, connection) for field, value in zip(fields, row, strict=True)] for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(statement, prepared)


def _insert_history(connection, model, objs, *, user, reason, date, history_type):
    """One history row per object (as django-simple-history writes them), in one statement."""
    meta = model.history.model._meta
    fields = [f for f in meta.concrete_fields if f.name not in HISTORY_FIELDS and f.name != "history_id"]
    values_of = attrgetter(*(f.attname for f in fields))
    fields += [meta.get_field(name) for name in HISTORY_FIELDS]
    constant = (date, reason, history_type, getattr(user, "pk", None))
    _insert(connection, meta.db_table, fields, (values_of(obj) + constant for obj in objs))


def _connection_for(model):
    from django.db import connections, router

    return connections[router.db_for_write(model)]


class NewRow:
    """A row to insert without building a model instance (its fields by attribute name).

    Used for the membership periods an admission opens: ``ended_on``, ``end_reason`` and the
    ending decision empty.
    """

    def __init__(self, **values):
        self.ended_on = None
        self.end_reason = ""
        self.end_decision_number = ""
        self.end_decided_on = None
        self.__dict__.update(values)


def insert_with_history(model, objs, *, user, reason, date, ids=None):
    """Insert new rows and their "+" history rows (all with ``user``, ``reason`` and ``date``).

    A constant number of statements however many rows: ids reserved at once (or given: ``ids``,
    reserved by :func:`_reserve_ids`), then COPY on PostgreSQL or one ``executemany`` elsewhere.
    No signal is sent: the bulk services announce what they wrote (``core.events``), once per batch.
    """
    if not objs:
        return objs
    connection = _connection_for(model)
    pk_name = model._meta.pk.attname
    if ids is None:
        ids = _reserve_ids(connection, model, len(objs))
    for obj, pk in zip(objs, ids, strict=True):
        setattr(obj, pk_name, pk)
        obj.created = obj.updated = date
        fill_derived_text(obj)  # search and sort keys: save() is not called
        state = getattr(obj, "_state", None)
        if state is not None:
            state.adding = False
            state.db = connection.alias
    fields = model._meta.concrete_fields
    history = {"user": user, "reason": reason, "date": date, "history_type": "+"}
    if _postgres(connection) and _copy_with_history(connection, model, fields, objs, **history):
        return objs
    values_of = attrgetter(*(f.attname for f in fields))
    _insert(connection, model._meta.db_table, fields, (values_of(obj) for obj in objs))
    _insert_history(connection, model, objs, **history)
    return objs


def update_with_history(model, objs, fields, *, user, reason, date):
    """Update ``fields`` of ``objs`` (raising their version) and add their "~" history rows."""
    if not objs:
        return objs
    for obj in objs:
        obj.updated = date
        fill_derived_text(obj)
        if hasattr(obj, "version"):
            obj.version += 1
    fields = with_derived_fields(model, fields)
    fields = sorted(set(fields) | {"updated"} | ({"version"} if hasattr(objs[0], "version") else set()))
    model.objects.bulk_update(objs, fields, batch_size=BATCH_SIZE)
    _insert_history(_connection_for(model), model, objs, user=user, reason=reason, date=date, history_type="~")
    return objs


def _attnames(model, names):
    return frozenset(model._meta.get_field(name).attname for name in names)


def write_members(acting_user, items, *, reason, history_date=None, periods=None):
    """Write the planned admissions (members and their first periods) and updates, with history.

    ``periods``: the admissions' first periods when they are in the table already (COPYed while
    planning, see :func:`_plan_copying_periods`; their history is not): the members take the ids
    the periods name, in order, and ``history_date`` must be the date the periods were written with.
    """
    if has_errors(items):
        raise PermissionDenied(_("The rows with errors must be corrected before anything is written."))
    history = {"user": acting_user, "reason": reason, "date": history_date or timezone.now()}
    new_members = [item.instance for item in items if item.action == CREATE]
    if new_members:
        if periods is None:
            insert_with_history(Member, new_members, **history)
            periods = [
                NewRow(member_id=member.pk, organization_id=member.organization_id, started_on=member.admitted_on)
                for member in new_members
            ]
            insert_with_history(MembershipPeriod, periods, **history)
        else:
            insert_with_history(Member, new_members, ids=[period.member_id for period in periods], **history)
            _copy_with_history(
                _connection_for(MembershipPeriod),
                MembershipPeriod,
                MembershipPeriod._meta.concrete_fields,
                periods,
                history_type="+",
                table=False,
                **history,
            )
        publish(branch_events.MembersAdmitted(tuple(map(branch_events.Admission.of, new_members))))
        publish(
            branch_events.MembershipPeriodsOpened(
                tuple(branch_events.Period(p.member_id, p.organization_id, p.started_on) for p in periods)
            )
        )
    updates = [item for item in items if item.action == UPDATE]
    if updates:
        fields = {name for item in updates for name in item.changes}
        update_with_history(Member, [item.instance for item in updates], fields, **history)
        publish(branch_events.MembersChanged(tuple(item.instance.pk for item in updates), _attnames(Member, fields)))
    return items


@transaction.atomic
def import_members(acting_user, *, organization, items, reason, dry_run=False):
    """Plan the items and, unless ``dry_run`` or any item has an error, write them: all or nothing.

    PostgreSQL: the admissions' first periods are COPYed while the items are planned (see
    :func:`_plan_copying_periods`), and rolled back when an item has an error.
    """
    if dry_run or not _postgres(_connection_for(MembershipPeriod)):
        plan_members(acting_user, organization=organization, items=items, lock=not dry_run)
        if not dry_run and not has_errors(items):
            write_members(acting_user, items, reason=reason)
        return items
    date = timezone.now()
    with same_day():
        plan = _member_planner(acting_user, organization=organization, items=items, lock=True)
        periods = _plan_copying_periods(items, plan, date=date)
    _finish(items)
    if not has_errors(items):
        write_members(acting_user, items, reason=reason, history_date=date, periods=periods)
    return items


class _Refused(Exception):
    """An item has an error: the COPY begun while planning is abandoned."""


def _plan_copying_periods(items, plan, *, date):
    """Plan each item with ``plan`` (see :func:`_member_planner`) while PostgreSQL inserts the
    first membership period of each admission planned so far, with ids reserved beforehand.

    The periods' exclusion index (``period_no_overlap``) makes that COPY the longest statement of
    an import: begun here, it runs on the server while Python checks the following rows. In a
    savepoint: at the first item with an error no more rows are sent, and after the last item
    the COPY is abandoned, so nothing stays. Returns the periods written (``NewRow``s; their
    member ids are reserved for the admissions, in order), or None when nothing was written.
    Every item is planned either way.
    """
    admissions = sum(1 for item in items if item.instance is None)
    connection = _connection_for(MembershipPeriod)
    fields = MembershipPeriod._meta.concrete_fields
    if not admissions or any(item.errors for item in items) or _history_fields(MembershipPeriod, fields) is None:
        for item in items:
            plan(item)
        return None
    member_ids = iter(_reserve_ids(connection, Member, admissions))
    period_ids = iter(_reserve_ids(connection, MembershipPeriod, admissions))
    values_of = attrgetter(*(field.attname for field in fields))
    periods = []
    refused = False
    try:
        with (
            transaction.atomic(using=connection.alias),
            _copy_writer(connection, MembershipPeriod._meta.db_table, fields) as write,
        ):
            for item in items:
                plan(item)
                if refused or item.errors:
                    refused = True
                    continue
                if item.action == CREATE:
                    member = item.instance
                    period = NewRow(
                        id=next(period_ids),
                        created=date,
                        updated=date,
                        member_id=next(member_ids),
                        organization_id=member.organization_id,
                        started_on=member.admitted_on,
                    )
                    periods.append(period)
                    write(values_of(period))
            if refused:
                raise _Refused
    except _Refused:
        return None
    return periods


# Enterprises ------------------------------------------------------------------------------


def _nearest_committee(organization):
    """The organisation itself when it is a committee, else the nearest committee above it."""
    prefixes = [organization.path[:end] for end in range(Organization.steplen, len(organization.path) + 1, 4)]
    return Organization.objects.committees().filter(path__in=prefixes).order_by("-depth").first()


@same_day()
def plan_enterprises(acting_user, *, organization, items, lock=False):
    """Decide, for each item, whether it records a new enterprise, updates one (same tax code) or
    changes nothing, with the rules of ``create_enterprise`` / ``update_enterprise``.

    An enterprise without a managing committee in its row is managed by ``organization``'s
    nearest committee. Existing enterprises must be editable by ``acting_user`` and belong to
    ``organization``'s subtree.
    """
    from enterprises.models import enterprise_scope_q
    from enterprises.services import ENTERPRISE_FIELDS, check_enterprise_record, recording_organization

    if not Organization.objects.editable_by(acting_user).filter(pk=organization.pk).exists():
        raise PermissionDenied(
            _("You may not change the records of %(organization)s.") % {"organization": organization}
        )
    default_committee = _nearest_committee(organization)
    recorded_by = recording_organization(acting_user)
    tax_codes = {item.values.get("tax_code") for item in items} - {"", None}
    existing = {}
    matched = Enterprise.objects.select_related("locality", "managing_committee")
    if lock:
        matched = matched.select_for_update(of=("self",))
    for chunk in _chunks(sorted(tax_codes)):
        existing.update({enterprise.tax_code: enterprise for enterprise in matched.filter(tax_code__in=chunk)})
    holders = {code: enterprise.pk for code, enterprise in existing.items()}
    in_scope = _ids_in(
        Enterprise.objects.editable_by(acting_user).filter(enterprise_scope_q([organization.path])),
        {enterprise.pk for enterprise in existing.values()},
    )
    committee_ids = {item.values["managing_committee"].pk for item in items if item.values.get("managing_committee")}
    if default_committee is not None:
        committee_ids.add(default_committee.pk)
    assignable = _ids_in(Organization.objects.assignable_managing_committees(acting_user), committee_ids)
    _report_duplicates(
        items,
        lambda item: item.values.get("tax_code"),
        "tax_code",
        _("This tax code is also on row(s) %(rows)s of the file."),
    )
    for item in items:
        values = item.values
        if "managing_committee" not in item.given or values.get("managing_committee") is None:
            if "managing_committee" not in item.errors:
                values["managing_committee"] = default_committee
        enterprise = existing.get(values.get("tax_code"))
        errors = Errors()
        if enterprise is None:
            enterprise = Enterprise(**{k: v for k, v in values.items() if k in ENTERPRISE_FIELDS and v is not None})
            enterprise.recorded_by = recorded_by
            item.action = CREATE
        else:
            if enterprise.pk not in in_scope:
                item.error(
                    "tax_code",
                    _(
                        "This enterprise is already recorded outside the organisation you import into; "
                        "the organisation keeping the record must change it."
                    ),
                )
                item.instance = enterprise
                continue
            for name in ENTERPRISE_FIELDS:
                if name in item.given and name not in item.errors:
                    after = values.get(name)
                    if after is None and name in ("industrial_park", "address"):
                        after = ""
                    if after is None and name == "employees":
                        after = 0
                    before = getattr(enterprise, name)
                    if after is not None and not _same(before, after):
                        item.changes[name] = (before, after)
            if not item.changes:
                item.action = UNCHANGED
                item.instance = enterprise
                continue
            for name, (_before, after) in item.changes.items():
                setattr(enterprise, name, after)
            item.action = UPDATE
        check_enterprise_record(
            errors, acting_user, enterprise, tax_code_holders=holders, assignable_committee_ids=assignable
        )
        item.merge(errors)
        item.instance = enterprise
    return _finish(items)


def write_enterprises(acting_user, items, *, reason, history_date=None):
    """Write planned enterprises with history; refuse (roll back) any that would leave the user's scope."""
    if has_errors(items):
        raise PermissionDenied(_("The rows with errors must be corrected before anything is written."))
    history = {"user": acting_user, "reason": reason, "date": history_date or timezone.now()}
    created = [item.instance for item in items if item.action == CREATE]
    insert_with_history(Enterprise, created, **history)
    if created:
        publish(enterprise_events.EnterprisesRecorded(tuple(enterprise.pk for enterprise in created)))
    updates = [item for item in items if item.action == UPDATE]
    if updates:
        fields = {name for item in updates for name in item.changes}
        update_with_history(Enterprise, [item.instance for item in updates], fields, **history)
        moved = tuple(
            enterprise_events.CommitteeChange(item.instance.pk, getattr(before, "pk", None), getattr(after, "pk", None))
            for item in updates
            if "managing_committee" in item.changes
            for before, after in [item.changes["managing_committee"]]
        )
        if moved:
            publish(enterprise_events.ManagingCommitteesChanged(moved))
        publish(
            enterprise_events.EnterprisesChanged(
                tuple(item.instance.pk for item in updates), _attnames(Enterprise, fields)
            )
        )
    written = {enterprise.pk for enterprise in created} | {item.instance.pk for item in updates}
    if len(_ids_in(Enterprise.objects.editable_by(acting_user), written)) != len(written):
        raise PermissionDenied(_("This enterprise would fall outside your scope."))
    return items


@transaction.atomic
def import_enterprises(acting_user, *, organization, items, reason, dry_run=False):
    plan_enterprises(acting_user, organization=organization, items=items, lock=not dry_run)
    if not dry_run and not has_errors(items):
        write_enterprises(acting_user, items, reason=reason)
    return items


# Membership returns of mass organisations --------------------------------------------------


@same_day()
def plan_returns(acting_user, *, organization, items):
    """Check each dated return with the rules of ``record_membership_return``.

    ``values["mass_organization"]`` is resolved by the caller; it must sit in an enterprise the
    user may change within ``organization``'s subtree. A return already recorded with the same
    figures is unchanged; with other figures it is the service's error.
    """
    from enterprises.models import MembershipReturn, enterprise_scope_q
    from enterprises.services import check_membership_return

    if not Organization.objects.editable_by(acting_user).filter(pk=organization.pk).exists():
        raise PermissionDenied(
            _("You may not change the records of %(organization)s.") % {"organization": organization}
        )
    mass_organizations = {item.values["mass_organization"] for item in items if item.values.get("mass_organization")}
    editable_enterprises = _ids_in(
        Enterprise.objects.editable_by(acting_user).filter(enterprise_scope_q([organization.path])),
        {mass_organization.enterprise_id for mass_organization in mass_organizations},
    )
    recorded = {}
    for chunk in _chunks(sorted(mass_organization.pk for mass_organization in mass_organizations)):
        for mass_organization_id, date, total, admitted in MembershipReturn.objects.filter(
            mass_organization_id__in=chunk
        ).values_list("mass_organization_id", "date", "members_total", "members_admitted"):
            recorded.setdefault(mass_organization_id, {})[date] = (total, admitted)
    _report_duplicates(
        items,
        lambda item: (
            (item.values["mass_organization"].pk, item.values.get("date"))
            if item.values.get("mass_organization") and item.values.get("date")
            else None
        ),
        "date",
        _("The same return is also on row(s) %(rows)s of the file."),
    )
    for item in items:
        values = item.values
        mass_organization = values.get("mass_organization")
        if mass_organization is None:
            item.action = ERROR
            continue
        if mass_organization.enterprise_id not in editable_enterprises:
            item.error("tax_code", _("You may not change the records of this enterprise."))
            continue
        dates = recorded.get(mass_organization.pk, {})
        figures = (values.get("members_total"), values.get("members_admitted"))
        if values.get("date") in dates and dates[values["date"]] == figures:
            item.action = UNCHANGED
            continue
        errors = Errors()
        check_membership_return(
            errors,
            mass_organization,
            date=values.get("date"),
            members_total=values.get("members_total"),
            members_admitted=values.get("members_admitted"),
            recorded_dates=dates,
        )
        item.merge(errors)
        item.instance = MembershipReturn(
            mass_organization=mass_organization,
            date=values.get("date"),
            members_total=values.get("members_total"),
            members_admitted=values.get("members_admitted"),
        )
        item.action = CREATE
    return _finish(items)


@transaction.atomic
def import_returns(acting_user, *, organization, items, reason, dry_run=False):
    from enterprises.models import MassOrganization, MembershipReturn

    if not dry_run:
        ids = {item.values["mass_organization"].pk for item in items if item.values.get("mass_organization")}
        for chunk in _chunks(sorted(ids)):
            list(MassOrganization.objects.select_for_update().filter(pk__in=chunk).values_list("pk"))
    plan_returns(acting_user, organization=organization, items=items)
    if not dry_run and not has_errors(items):
        created = [item.instance for item in items if item.action == CREATE]
        insert_with_history(MembershipReturn, created, user=acting_user, reason=reason, date=timezone.now())
        if created:
            publish(enterprise_events.MembershipReturnsRecorded.of(created))
    return items
