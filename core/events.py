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

from dataclasses import dataclass

_handlers = {}


@dataclass(frozen=True)
class Event:
    """Base of every domain event (subscribing to it sees them all)."""


@dataclass(frozen=True)
class RecordsLoaded(Event):
    """Rows of these models (``app_label.ModelName``) were written in bulk with no event per
    record (the demo loader, the national generator, a restore): anything derived from them is
    to be recounted from the tables."""

    models: tuple[str, ...]


def subscribe(event_type, handler):
    """Call ``handler(event)`` for every published event of ``event_type`` or a subclass (once,
    however often it is subscribed)."""
    handlers = _handlers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


def unsubscribe(event_type, handler):
    handlers = _handlers.get(event_type, [])
    if handler in handlers:
        handlers.remove(handler)


def publish(event):
    """Hand ``event`` to its subscribers, now (most specific event type first)."""
    for event_type in type(event).__mro__:
        for handler in list(_handlers.get(event_type, ())):
            handler(event)


def values_of(instance):
    """The stored values of ``instance``'s concrete fields (attribute names), to compare after a change."""
    return {field.attname: instance.__dict__.get(field.attname) for field in instance._meta.concrete_fields}


def changed_fields(instance, before, ignore=("updated", "version")):
    """The attribute names whose value differs from ``before`` (see :func:`values_of`)."""
    return frozenset(
        name for name, value in values_of(instance).items() if name not in ignore and before.get(name) != value
    )
