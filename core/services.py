"""Service plumbing: collect every error, save with history, re-read under lock, refuse stale copies.

A domain service validates the whole change with :class:`Errors`, then writes it with
:func:`save_with_history` in one transaction.
"""

import contextlib
import re

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DataError, IntegrityError
from django.utils.translation import gettext as _


def save_with_history(instance, acting_user, reason=None, **save_kwargs):
    """Save ``instance`` so that its history row names ``acting_user`` (and why, for imports)."""
    if acting_user is not None and getattr(acting_user, "is_authenticated", False):
        instance._history_user = acting_user
    if reason:
        instance._change_reason = reason
    if not instance._state.adding and hasattr(instance, "version"):
        # Optimistic locking: services change rows they re-read under lock, so this cannot go back.
        instance.version += 1
        if save_kwargs.get("update_fields") is not None:
            save_kwargs["update_fields"] = [*save_kwargs["update_fields"], "version"]
    try:
        instance.save(**save_kwargs)
    except (DataError, OverflowError) as exc:
        # A value the service did not check is out of the column's range: name it, never a 500.
        from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

        # Not the relations: validating them would query a transaction the error has just broken.
        instance.clean_fields(exclude=[field.name for field in instance._meta.concrete_fields if field.is_relation])
        raise ValidationError({NON_FIELD_ERRORS: [_("A value is too large or too long to be stored.")]}) from exc
    except IntegrityError as exc:
        field = unique_field_of(exc, instance)
        if field is None:
            raise
        # Two requests passed the service's duplicate check at the same moment; the database kept one.
        from django.core.exceptions import ValidationError

        label = instance._meta.get_field(field).verbose_name
        raise ValidationError(
            {field: [_("Another record with this %(field)s was saved at the same moment.") % {"field": label}]}
        ) from exc
    return instance


def unique_field_of(exc, instance):
    """The field whose uniqueness ``exc`` reports (PostgreSQL's ``Key (column)=`` or SQLite's ``table.column``)."""
    message = str(exc)
    match = re.search(r"Key \(([^)=,]+)\)=", message) or re.search(
        rf"UNIQUE constraint failed: {re.escape(instance._meta.db_table)}\.(\w+)", message
    )
    if not match:
        return None
    column = match.group(1).strip().strip('"')
    for field in instance._meta.concrete_fields:
        if field.column == column:
            return field.name
    return None


class Errors(dict):
    """Collects field errors so a service validates everything before it refuses or writes."""

    def add(self, field, message):
        self.setdefault(field, []).append(message)

    def raise_if_any(self):
        from django.core.exceptions import ValidationError

        if self:
            raise ValidationError(dict(self))


def without_traceback(error):
    """``error`` without its traceback. A ``ValidationError`` is a cycle (its ``error_list`` holds
    it), so only the cyclic collector frees it, and its traceback holds the frames it passed
    through with their locals (a bulk service's whole list of items): caught while checking many
    rows, with the collector paused (``dataio.bulk.collector_paused``), they would all wait for
    the collector's next pass and make it a long one."""
    error.__traceback__ = None
    return error


def lock_for_update(instance):
    """Re-read a row under lock so concurrent lifecycle steps serialise (PostgreSQL)."""
    return type(instance).objects.select_for_update().get(pk=instance.pk)


VERSION_IGNORED_FIELDS = {"id", "created", "updated", "version", "path", "depth", "numchild"}


def changed_since(instance, version):
    """Labels of the fields whose value differs from the historical record of ``version``."""
    history = getattr(instance, "history", None)
    then = history.filter(version=version).order_by("-history_date", "-history_id").first() if history else None
    if then is None:
        return []
    return [
        str(field.verbose_name)
        for field in instance._meta.concrete_fields
        if field.name not in VERSION_IGNORED_FIELDS
        and getattr(then, field.attname, None) != getattr(instance, field.attname)
    ]


def check_version(instance, expected_version):
    """Refuse a change made from a stale copy of ``instance`` (optimistic locking).

    ``instance`` must be freshly read under lock (see :func:`lock_for_update`); ``expected_version`` is the
    version the user's form or API request was built from (None: no check). On a mismatch the
    ``ValidationError`` (non-field) names the fields changed since that version.
    """
    if expected_version is None or expected_version == "":
        return
    try:
        expected = int(expected_version)
    except (TypeError, ValueError):
        raise ValidationError({NON_FIELD_ERRORS: [_("This form is out of date. Reload the page.")]}) from None
    if expected == instance.version:
        return
    changed = changed_since(instance, expected)
    if changed:
        message = _(
            "Someone else changed this record after you opened it (changed: %(fields)s). "
            "Your changes were not saved: reload the page to see the current values and apply them again."
        ) % {"fields": ", ".join(changed)}
    else:
        message = _(
            "Someone else changed this record after you opened it. "
            "Your changes were not saved: reload the page to see the current values and apply them again."
        )
    raise ValidationError({NON_FIELD_ERRORS: [message]})


# Organisations ----------------------------------------------------------------------------


def full_clean_into(instance, errors, exclude=None, validate_unique=True):
    """The model's own validation (not its constraints: the services check those), added to ``errors``."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=validate_unique, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            for message in messages:
                errors.add(field, message)


def errors_by_field(exc):
    """A service's ``ValidationError`` as ``[(field name or None, [messages])]``: the one bridge from
    service errors to forms, the admin and the API (``None`` is "not about one field")."""
    if not hasattr(exc, "error_dict"):
        return [(None, list(exc.messages))]
    return [
        (None if field == NON_FIELD_ERRORS else field, [message for error in errors for message in error.messages])
        for field, errors in exc.error_dict.items()
    ]


def deliberate_row_writes():
    """A context in which a service changes rows one by one on purpose (a restructuring re-reads
    and moves each organisation under lock): the N+1 guard of the test suite (django-zeal, a
    development dependency) is told so; elsewhere this does nothing."""
    try:
        from zeal import zeal_ignore
    except ImportError:
        return contextlib.nullcontext()
    return zeal_ignore()
