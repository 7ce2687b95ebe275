"""Domain events: what happened, announced by the code that made it happen.

The app that owns the records declares its events (``branches/events.py``,
``enterprises/events.py``) as frozen dataclasses deriving from :class:`Event`. Services, bulk
writers and loaders :func:`publish` an event right after the write, inside the same transaction,
one event per batch for the bulk writers. Apps above subscribe in their ``AppConfig.ready``
(``reports`` keeps its roll-ups and its data version so), so the lower app never imports them.

Handlers run synchronously, in the order they subscribed, in the publisher's transaction: what
they write commits or rolls back with the change they describe. A handler that must only act
once the data is visible to others uses ``transaction.on_commit`` itself.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

_handlers = {}
_in_preview = {}  # handler -> what to call instead of it while previewing
_previewing = ContextVar("events_previewing", default=False)


@dataclass(frozen=True)
class Event:
    """Base of every domain event (subscribing to it sees them all)."""


@dataclass(frozen=True)
class RecordsLoaded(Event):
    """Rows of these models (``app_label.ModelName``) were written in bulk with no event per
    record (the demo loader, the national generator, a restore): anything derived from them is
    to be recounted from the tables."""

    models: tuple[str, ...]


def subscribe(event_type, handler, *, in_preview=None):
    """Call ``handler(event)`` for every published event of ``event_type`` or a subclass (once,
    however often it is subscribed).

    ``in_preview``: what to call instead, with the event, while :func:`previewing`. A handler that
    only keeps derived data (counts, roll-ups) need not keep what the preview's rollback throws
    away; what it does instead must still mark the transaction as written where the handler would
    (the versions' bump), so that nothing read inside the preview is kept."""
    handlers = _handlers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)
    if in_preview is not None:
        _in_preview[handler] = in_preview


def unsubscribe(event_type, handler):
    handlers = _handlers.get(event_type, [])
    if handler in handlers:
        handlers.remove(handler)
    if not any(handler in others for others in _handlers.values()):
        _in_preview.pop(handler, None)


def publish(event):
    """Hand ``event`` to its subscribers, now (most specific event type first)."""
    preview = _previewing.get()
    for event_type in type(event).__mro__:
        for handler in list(_handlers.get(event_type, ())):
            (_in_preview.get(handler, handler) if preview else handler)(event)


@contextmanager
def previewing():
    """Within: the writes are a preview that the caller rolls back (a restructuring plan run to
    show what it would do); subscribers given an ``in_preview`` call that instead."""
    token = _previewing.set(True)
    try:
        yield
    finally:
        _previewing.reset(token)


def values_of(instance):
    """The stored values of ``instance``'s concrete fields (attribute names), to compare after a change."""
    return {field.attname: instance.__dict__.get(field.attname) for field in instance._meta.concrete_fields}


def changed_fields(instance, before, ignore=("updated", "version")):
    """The attribute names whose value differs from ``before`` (see :func:`values_of`)."""
    return frozenset(
        name for name, value in values_of(instance).items() if name not in ignore and before.get(name) != value
    )
