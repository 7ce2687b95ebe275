"""Shared model plumbing: timestamps and the scoped queryset every domain model uses."""

import datetime
import re
import select
import uuid
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import connections, models, router
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.scoping import in_subtrees, scope_for

#: Characters per level of every materialised-path tree (treebeard's ``steplen``): the SQL of the
#: reports cuts ancestors' paths by it.
TREE_STEPLEN = 4


def mask_citizen_id(value):
    """A citizen ID as shown to those who may not edit its record: eight dots and the last four digits.

    The one masking rule of the product (pages, lists, API, exports, history and change sets).
    """
    return f"{'•' * 8}{value[-4:]}" if value else ""


#: Fields whose values are masked for those who may not edit the record.
MASKED_FIELDS = frozenset({"citizen_id"})


class ScopedQuerySetMixin:
    """``visible_to`` / ``editable_by`` for a model, from one scope rule per model.

    A model's queryset sets ``scope_lookup`` (the lookup of the organisation that owns the row,
    e.g. ``"organization"`` or ``"member__organization"``) or overrides :meth:`scope_q`.
    """

    scope_lookup = None

    def scope_q(self, paths):
        return in_subtrees(self.scope_lookup, paths)

    def visible_to(self, user):
        scope = scope_for(user)
        if scope.everything or scope.reads_everything:
            return self.all()
        return self.filter(self.scope_q(scope.read_paths))

    def editable_by(self, user):
        scope = scope_for(user)
        if scope.everything:
            return self.all()
        return self.filter(self.scope_q(scope.write_paths))

    # Bulk writes skip ``save()``: they fill the derived text columns themselves (see TimestampedModel).
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            fill_derived_text(obj)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            fill_derived_text(obj)
        return super().bulk_update(objs, with_derived_fields(self.model, fields), *args, **kwargs)


def follows_scope(queryset_class, name):
    """Whether ``queryset_class``'s gate ``name`` (``"visible_to"`` or ``"editable_by"``) is the
    scope rule of :class:`ScopedQuerySetMixin`: rows that depend on the user's scope alone (users of
    one scope get the same SQL), with subqueries evaluated when the query runs."""
    return getattr(queryset_class, name, None) is getattr(ScopedQuerySetMixin, name)


#: Querysets of the gates as managers return them, per gate, manager and scope (see ScopedManagerMixin).
_gated = {}
_GATED_KEPT = 4096


class ScopedManagerMixin:
    """``Model.objects.visible_to(user)`` / ``.editable_by(user)``: a copy of the queryset built once
    per manager and scope, when the gate is the scope rule (``follows_scope``). Building the
    scope's filter (its subqueries of the subtrees) costs up to a millisecond per call; a copy, a
    hundredth of that. Called on a queryset, the gates build their filter as before."""

    def visible_to(self, user):
        return self._gated("visible_to", user)

    def editable_by(self, user):
        return self._gated("editable_by", user)

    def _gated(self, name, user):
        queryset = self.get_queryset()
        if not follows_scope(type(queryset), name):
            return getattr(queryset, name)(user)
        key = (name, self.model, type(self), self._db, scope_for(user))
        kept = _gated.get(key)
        if kept is None:
            if len(_gated) >= _GATED_KEPT:
                _gated.clear()
            kept = _gated[key] = getattr(queryset, name)(user)
        return kept.all()


class ScopedManager(ScopedManagerMixin, models.Manager):
    pass


class ScopedQuerySet(ScopedQuerySetMixin, models.QuerySet):
    @classmethod
    def as_manager(cls):
        manager = ScopedManager.from_queryset(cls)()
        manager._built_with_as_manager = True
        return manager

    as_manager.queryset_only = True


# Control characters have no place in names and codes (tabs and line breaks are allowed in notes);
# lone surrogates cannot be stored at all; PostgreSQL refuses NUL. Refused too, as they let a text
# show something else than it holds: the C1 controls (U+0080-U+009F) and the bidirectional
# formatting characters: embeddings and overrides (U+202A-U+202E), isolates (U+2066-U+2069) and the
# direction marks (U+200E, U+200F, U+061C), which Vietnamese text never needs.
_SPOOFING = "\x80-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
SINGLE_LINE_FORBIDDEN = re.compile(rf"[\x00-\x1f\x7f{_SPOOFING}\ud800-\udfff]")
MULTI_LINE_FORBIDDEN = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f{_SPOOFING}\ud800-\udfff]")


def in_force_on(date, *, open_start=False, start="valid_from", end="valid_to"):
    """``Q`` of the dated rows in force on ``date``: begun by then (``open_start``: an empty start
    means from the beginning) and not yet ended (the end is the first day the row no longer holds;
    empty: still)."""
    begun = Q(**{f"{start}__lte": date})
    if open_start:
        begun |= Q(**{f"{start}__isnull": True})
    return begun & (Q(**{f"{end}__isnull": True}) | Q(**{f"{end}__gt": date}))


class DatedQuerySet(models.QuerySet):
    """Rows in force between ``valid_from`` and ``valid_to`` (the first day they no longer hold).
    ``open_start``: an empty ``valid_from`` means from the beginning."""

    open_start = False

    def on(self, date):
        """The rows in force on ``date``."""
        return self.filter(in_force_on(date, open_start=self.open_start))


class OpenStartDatedQuerySet(DatedQuerySet):
    open_start = True


class LastDayMixin:
    """``last_day`` of a row dated by ``valid_from`` / ``valid_to``."""

    @property
    def last_day(self):
        """The last day the row held (the day before ``valid_to``), or None while it holds."""
        return self.valid_to - datetime.timedelta(days=1) if self.valid_to else None


def fill_derived_text(obj):
    """Set the columns derived from a name (``derived_text``: column -> (source field, function))."""
    for target, (source, function) in getattr(type(obj), "derived_text", {}).items():
        value = function(getattr(obj, source, "") or "")
        setattr(obj, target, value[: obj._meta.get_field(target).max_length])
    return obj


def with_derived_fields(model, fields):
    """``fields`` plus the derived columns of any source among them (for ``update_fields``)."""
    fields = list(fields)
    for target, (source, _function) in getattr(model, "derived_text", {}).items():
        if source in fields and target not in fields:
            fields.append(target)
    return fields


def derived_field_names(model):
    return list(getattr(model, "derived_text", {}))


#: Rows per statement of :func:`update_in_bulk` on SQLite (the values are parameters).
UPDATE_CHUNK = 5000


#: The values a column of each type may hold to be sent joined (see :func:`_array`).
_JOINABLE = {
    "bigint": lambda value: value is None or type(value) is int,
    "integer": lambda value: value is None or type(value) is int,
    "date": lambda value: value is None or type(value) is datetime.date,
    "text": lambda value: type(value) is str and value != "" and "," not in value,
}


def _array(values, sql_type):
    """``(sql, param)``: a column's values as a PostgreSQL array. One string that
    ``string_to_array`` splits when nothing in it is ambiguous (integers, dates and texts without
    a comma, empty or missing values only where they stand for NULL): psycopg dumps a list element
    by element, with a regular expression each, at about four times the CPU. Otherwise the list."""
    accepts = _JOINABLE.get(sql_type)
    if accepts is not None and all(map(accepts, values)):
        joined = ",".join("" if value is None else str(value) for value in values)
        if joined:  # ('' would split into no element at all)
            if sql_type == "text":
                return "string_to_array(%s, ',')", joined
            return f"CAST(string_to_array(%s, ',', '') AS {sql_type}[])", joined
    return f"CAST(%s AS {sql_type}[])", list(values)


def values_relations(connection, columns, rows, *, size, alias="v"):
    """``(sql, params)`` of ``rows`` as a relation ``alias(column names)`` to select or join from:
    on PostgreSQL one, an ``unnest`` of a typed array per column (``columns``: ``(name, SQL type)``,
    see :func:`_array`), whatever the number of rows; elsewhere a ``VALUES`` list per ``size`` rows
    (SQLite's statements take a bounded number of parameters)."""
    names = [name for name, _type in columns]
    if connection.vendor == "postgresql":
        by_column = list(zip(*rows, strict=True)) or [()] * len(columns)
        arrays = [_array(values, sql_type) for values, (_name, sql_type) in zip(by_column, columns, strict=True)]
        sql = ", ".join(array_sql for array_sql, _param in arrays)
        yield f"unnest({sql}) AS {alias}({', '.join(names)})", [param for _sql, param in arrays]
        return
    select = ", ".join(f"column{number} AS {name}" for number, name in enumerate(names, 1))
    marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        values = ", ".join([marks] * len(chunk))
        yield f"(SELECT {select} FROM (VALUES {values})) AS {alias}", [value for row in chunk for value in row]


@contextmanager
def sent_ahead(connection):
    """Within: each statement on ``connection`` goes to PostgreSQL without waiting for the ones
    before it to finish (psycopg's pipeline mode), so that the server runs a write while Python
    prepares the next. A read still gets its rows: psycopg waits for everything before it first.
    An error comes out at the next read or at the end of the block, as Django's exception. No COPY
    within (PostgreSQL refuses it in a pipeline). Elsewhere: nothing changes.
    """
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    with (
        connection.wrap_database_errors,
        connection.connection.pipeline(),
        connection.execute_wrapper(_sent_whole),
    ):
        yield


def _sent_whole(execute, sql, params, many, context):
    """Execute, then send the statement to its end: psycopg sends in a pipeline what the socket
    takes at once and the rest with the next statement, and the server starts none it has not
    read whole. Replies read meanwhile wait in libpq's buffer (as psycopg's own sending does)."""
    result = execute(sql, params, many, context)
    pgconn = context["connection"].connection.pgconn
    while pgconn.flush():
        select.select([pgconn.socket], [pgconn.socket], [])
        pgconn.consume_input()
    return result


def update_in_bulk(objs, fields):
    """Write ``fields`` of ``objs`` (saved instances of one model) by their primary keys: one
    ``UPDATE … FROM`` the values (the columns as arrays on PostgreSQL; per UPDATE_CHUNK rows on
    SQLite). Django's ``bulk_update`` writes a ``CASE`` with a branch per row, which costs about a
    millisecond per row and field to build and grows quadratically in the database. The columns
    derived from a name among ``fields`` are filled and written too (see :func:`fill_derived_text`)."""
    objs = list(objs)
    if not objs:
        return
    model = type(objs[0])
    meta = model._meta
    if any(source in fields for source, _function in getattr(model, "derived_text", {}).values()):
        for obj in objs:
            fill_derived_text(obj)
    columns = [meta.pk, *(meta.get_field(name) for name in with_derived_fields(model, fields))]
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    assign = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in columns[1:])
    head = f"UPDATE {quote(meta.db_table)} SET {assign} FROM "
    tail = f" WHERE {quote(meta.db_table)}.{quote(meta.pk.column)} = v.{quote(meta.pk.column)}"
    rows = [[field.get_db_prep_save(getattr(obj, field.attname), connection) for field in columns] for obj in objs]
    typed = [(quote(field.column), field.db_type(connection)) for field in columns]
    with connection.cursor() as cursor:
        for values, params in values_relations(connection, typed, rows, size=UPDATE_CHUNK):
            cursor.execute(f"{head}{values}{tail}", params)


def record_history(model, pks, *, history_type, user=None, reasons=None, date=None):
    """Add a history row for each of ``model``'s rows ``pks`` as it stands now, as
    django-simple-history writes one on save (``history_type`` "+" created or "~" changed, the
    ``user``, a reason per row ``{pk: text}``), in one ``INSERT … SELECT`` from the table (per
    UPDATE_CHUNK rows on SQLite): for writers of thousands of rows, whose history would otherwise
    be thousands of model instances built in Python."""
    pks = list(pks)
    if not pks:
        return
    history = model.history.model
    tracked = [(field.column, history._meta.get_field(field.name).column) for field in history.tracked_fields]
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(target) for _source, target in tracked)
    values = ", ".join(f"t.{quote(source)}" for source, _target in tracked)
    head = (
        f"INSERT INTO {quote(history._meta.db_table)} ({columns}, history_date, history_change_reason, "
        f"history_type, history_user_id) SELECT {values}, %s, v.reason, %s, %s FROM {quote(model._meta.db_table)} t "
    )
    tail = f" ON t.{quote(model._meta.pk.column)} = v.pk"
    constant = [
        connection.ops.adapt_datetimefield_value(date or timezone.now()),
        history_type,
        getattr(user, "pk", None),
    ]
    reasons = reasons or {}
    rows = [(pk, reasons.get(pk)) for pk in pks]
    with connection.cursor() as cursor:
        for source, params in values_relations(
            connection, [("pk", "bigint"), ("reason", "text")], rows, size=UPDATE_CHUNK
        ):
            cursor.execute(f"{head}JOIN {source}{tail}", [*constant, *params])


class TimestampedModel(models.Model):
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    # Columns kept in step with a text field on every save (search keys, sort keys: core/text.py):
    # ``{"search_name": ("full_name", search_key)}``. Bulk writers call fill_derived_text().
    derived_text = {}

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.derived_text:
            fill_derived_text(self)
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = with_derived_fields(type(self), kwargs["update_fields"])
        return super().save(*args, **kwargs)

    def clean_fields(self, exclude=None):
        """The fields' own validation, and no control characters in any text."""
        from django.core.exceptions import ValidationError

        errors = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        for field in self._meta.concrete_fields:
            if (exclude and field.name in exclude) or field.name in errors:
                continue
            value = getattr(self, field.attname, None)
            if isinstance(value, str) and isinstance(field, models.CharField | models.TextField):
                pattern = MULTI_LINE_FORBIDDEN if isinstance(field, models.TextField) else SINGLE_LINE_FORBIDDEN
                if pattern.search(value):
                    errors[field.name] = [_("Remove the control characters from this text.")]
        if errors:
            raise ValidationError(errors)


class Job(models.Model):
    """One piece of background work a user started (an import's commit, a large export): its progress
    and its result, read by the status endpoint whichever app server or worker wrote them.

    The work itself is a task of the task queue (``core.jobs``); this row is what the pages show.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("waiting for a worker")
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("done")
        FAILED = "failed", _("failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("started by"), on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    task_id = models.CharField(_("task"), max_length=64, blank=True)
    done = models.PositiveBigIntegerField(_("rows done"), default=0)
    total = models.PositiveBigIntegerField(_("rows in total"), default=0)
    message = models.TextField(_("message"), blank=True)
    result_name = models.CharField(_("result file"), max_length=500, blank=True)
    result_filename = models.CharField(_("result file name"), max_length=200, blank=True)
    result_url = models.CharField(_("result page"), max_length=1000, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last progress at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("background task")
        verbose_name_plural = _("background tasks")
        ordering = ["-created"]

    def __str__(self):
        return f"{self.title} ({self.get_status_display()})"

    @property
    def is_finished(self):
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def percent(self):
        if self.status == self.Status.SUCCEEDED:
            return 100
        return min(99, int(100 * self.done / self.total)) if self.total else 0


class UserPreference(models.Model):
    """A user's profile, kept across sign-ins and devices: their full name as people write it
    (Vietnamese names put the family name first, which ``first_name``/``last_name`` cannot), the
    interface language, whether they want the daily e-mail digest, and whether they must change a
    password an administrator set. The e-mail address is the user's own ``email``."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="preference"
    )
    full_name = models.CharField(_("full name"), max_length=200, blank=True, default="")
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True, default="")
    email_digest = models.BooleanField(
        _("daily e-mail digest"),
        default=True,
        help_text=_("Send me one e-mail a day listing what became due or overdue in my organisations."),
    )
    password_change_required = models.BooleanField(
        _("must change the password"),
        default=False,
        help_text=_("Set when an administrator sets the password; cleared when the user changes it."),
    )

    class Meta:
        verbose_name = _("user profile")
        verbose_name_plural = _("user profiles")

    def __str__(self):
        return f"{self.user}: {self.full_name or '-'}"


def display_name(user):
    """How a user is named on every page: their full name, else Django's, else their username."""
    if user is None:
        return ""
    try:
        full_name = user.preference.full_name
    except (AttributeError, ObjectDoesNotExist):
        full_name = ""
    return full_name or user.get_full_name() or user.get_username()


class CalendarDayKind(models.TextChoices):
    DAY_OFF = "day_off", _("day off")
    WORKING_DAY = "working_day", _("compensatory working day")


class CalendarDay(TimestampedModel):
    """A day the government decided differently from the standard calendar (``core.workdays``).

    Each year the Prime Minister approves the days off around Tết and the public holidays and the
    Saturdays worked in exchange (Bộ luật Lao động 2019, Điều 112, and the Ministry of Labour's
    yearly notice); the ``holidays`` package knows the statutory days and some of these swaps, the
    administrator records the rest here.
    """

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=CalendarDayKind.choices)
    description = models.CharField(_("description"), max_length=200, blank=True, default="")

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar exception")
        verbose_name_plural = _("calendar exceptions")
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=CalendarDayKind.values), name="calendar_day_kind_known"),
        ]

    def __str__(self):
        return f"{self.date:%d/%m/%Y} — {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        forget_calendar_days()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        forget_calendar_days()
        return result


CALENDAR_DAYS_CACHE_KEY = "workdays:calendar-days"


def forget_calendar_days():
    """Drop the cached exceptions (``core.workdays`` reads them again on its next question)."""
    from django.core.cache import cache

    cache.delete(CALENDAR_DAYS_CACHE_KEY)
