"""What every bulk service shares: items and their actions, field cleaning, instance building, look-ups in chunks."""

import datetime
import decimal
import gc
import json
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import compress
from operator import is_not, itemgetter

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import connections, models
from django.db.models.base import ModelState
from django.db.models.expressions import DatabaseDefault, RawSQL
from django.utils.translation import gettext_lazy

from core.models import (
    MULTI_LINE_FORBIDDEN,
    SINGLE_LINE_FORBIDDEN,
    TimestampedModel,
)
from core.services import Errors, full_clean_into, without_traceback

CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"
#: ``TimestampedModel.clean_fields``' message (see :class:`FieldCleaner`).
CONTROL_CHARACTERS_MESSAGE = gettext_lazy("Remove the control characters from this text.")
_MISSING = object()  # a value not in an instance's __dict__ (deferred): read through getattr
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
    that all live to the end: the collector's passes would traverse them again and again and free
    nothing. Reference counting still frees everything outside cycles, and the collector runs as
    usual afterwards; so nothing in a cycle may hold the items, or its first pass afterwards has
    them all to free (an exception's traceback holds the frames it passed through: see
    ``core.services.without_traceback``). It is process-wide: other threads' cycles wait for the
    end as well.
    """
    if not gc.isenabled():  # paused already (a nested import, another thread): leave it to them
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def chunks(values, size=LOOKUP_CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def filter_in(queryset, lookup, values):
    """``queryset`` filtered on ``lookup`` among ``values``, as one or more querysets.

    PostgreSQL: one query, the values passed as one text parameter that the server splits (parsing
    an ``IN`` list of thousands of placeholders costs more than the look-up, and psycopg quotes a
    list parameter element by element in Python: ~0.3 s per 100,000 values): numbers joined by
    commas, texts as a JSON array (texts holding NUL are left out: PostgreSQL stores none).
    Elsewhere: one query per LOOKUP_CHUNK values.
    """
    values = sorted(values)
    if not values:
        return []
    if postgres(connections[queryset.db]):
        if all(type(value) is int for value in values):
            array = RawSQL("SELECT unnest(CAST(string_to_array(%s, ',') AS bigint[]))", [",".join(map(str, values))])
        else:
            texts = [str(value) for value in values if "\x00" not in str(value)]
            if not texts:
                return []
            array = RawSQL("SELECT jsonb_array_elements_text(CAST(%s AS jsonb))", [json.dumps(texts)])
        return [queryset.filter(**{f"{lookup}__in": array})]
    return [queryset.filter(**{f"{lookup}__in": chunk}) for chunk in chunks(values)]


def ids_in(queryset, ids):
    """The ids among ``ids`` that ``queryset`` holds (see :func:`filter_in`)."""
    found = set()
    for subset in filter_in(queryset, "pk", ids):
        found.update(subset.values_list("pk", flat=True))
    return found


def pks_of(objects):
    """The primary keys of ``objects`` (model instances; empty values skipped), each distinct
    instance asked once."""
    distinct = {id(obj): obj for obj in objects if obj}
    return {obj.pk for obj in distinct.values()}


def report_duplicates(items, key, field_name, message):
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
        self.clean_defaults = self._clean_defaults(model) if self.fast else {}

    #: Types of the default values :meth:`_clean_defaults` may keep (immutable: the same object stays valid).
    IMMUTABLE_TYPES = (str, int, float, decimal.Decimal, datetime.date, datetime.time, type(None))

    def _clean_defaults(self, model):
        """Attname → the model's default value, for the plain fields whose default ``clean``
        accepts unchanged: an instance holding that very object (built from the defaults, see
        :class:`InstanceBuilder`) needs no cleaning of the field. Relations are left out (their
        ``validate`` reads the database) and so are defaults made afresh per instance."""
        prototype, again = model(), model()
        defaults = {}
        for model_field in self.fields:
            value = prototype.__dict__.get(model_field.attname, _MISSING)
            if (
                model_field.is_relation
                or value is _MISSING
                or value is not again.__dict__.get(model_field.attname)
                or not isinstance(value, self.IMMUTABLE_TYPES)
            ):
                continue
            try:
                cleaned = model_field.clean(value, prototype)
            except ValidationError as refused:
                without_traceback(refused)
                continue
            if type(cleaned) is type(value) and cleaned == value:
                defaults[model_field.attname] = value
        return defaults

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
            # Per field, the default that needs no cleaning, or a value no instance holds.
            defaults = tuple(self.clean_defaults.get(check[1], _MISSING) for check in fields)
            values_of = itemgetter(*(check[1] for check in fields)) if len(fields) > 1 else None
            texts = [
                (field.name, field.attname, pattern) for field, pattern in self.text_fields if field.name not in key
            ]
            text_attnames = tuple(attname for _name, attname, _pattern in texts)
            checks = self.checks[key] = (
                fields,
                (defaults, values_of),
                texts,
                text_attnames,
                (_MISSING,) * len(text_attnames),
            )
        return checks

    @staticmethod
    def _to_clean(fields, skipping, values):
        """The checks of ``fields`` but those whose value is the very default object ``clean``
        accepts (see :meth:`_clean_defaults`), in their order; all of them when a value is deferred."""
        defaults, values_of = skipping
        if values_of is None:
            return fields
        try:
            held = values_of(values)
        except KeyError:  # deferred: not in the instance's __dict__
            return fields
        return list(compress(fields, map(is_not, held, defaults)))

    def __call__(self, instance, errors, exclude=()):
        if not self.fast:
            full_clean_into(instance, errors, exclude=set(exclude), validate_unique=False)
            return
        fields, skipping, texts, text_attnames, missing = self._checks(exclude)
        values = instance.__dict__
        found = {}
        accepted = self.accepted
        for name, attname, plain, cached, text_limit, skipped, model_field in self._to_clean(
            fields, skipping, values
        ):  # Model.clean_fields
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
                found[name] = without_traceback(exc).error_list
                continue
            setattr(instance, attname, value)
            if cached:
                accepted[key] = (value, type(value) is type(raw) and value == raw)
        # TimestampedModel.clean_fields. Usually no text holds a forbidden character: one search
        # of them all says so (the single-line pattern forbids all the multi-line one does, and
        # the space joining them neither); otherwise, or when a value is neither a str (choices
        # included) nor None, each text is searched with its own pattern.
        got = list(map(values.get, text_attnames, missing))
        strings = [value for value in got if isinstance(value, str)]
        if len(strings) + got.count(None) == len(got) and not SINGLE_LINE_FORBIDDEN.search(" ".join(strings)):
            texts = ()
        for name, attname, pattern in texts:
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


#: Rows between two calls of a bulk service's ``progress`` callback.
PROGRESS_ROWS = 1000


def row_counter(progress, total, every=None):
    """A function to call once per row done: it calls ``progress(rows done, total)`` every ``every``
    rows (PROGRESS_ROWS) and at the last one (nothing when ``progress`` is None)."""
    if progress is None:
        return lambda: None
    every = every or PROGRESS_ROWS
    done = 0

    def tick():
        nonlocal done
        done += 1
        if done % every == 0 or done == total:
            progress(done, total)

    return tick


def counted(items, progress):
    """``items``, calling ``progress(rows done, total)`` as they are done (see :func:`row_counter`)."""
    tick = row_counter(progress, len(items))
    for item in items:
        yield item
        tick()


def finish(items):
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


def postgres(connection):
    return connection.vendor == "postgresql"
