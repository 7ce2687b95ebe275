"""``core.events.previewing``: subscribers that name what to do during a preview do that instead,
the others run as always, and the preview ends with its block (an error included)."""

from dataclasses import dataclass

import pytest

from core import events


@dataclass(frozen=True)
class Happened(events.Event):
    n: int


@pytest.fixture
def calls():
    seen = []

    def keeps(event):
        seen.append(("keeps", event.n))

    def instead(event):
        seen.append(("instead", event.n))

    def plain(event):
        seen.append(("plain", event.n))

    events.subscribe(Happened, keeps, in_preview=instead)
    events.subscribe(Happened, plain)
    yield seen
    events.unsubscribe(Happened, keeps)
    events.unsubscribe(Happened, plain)


def test_a_preview_calls_what_a_subscriber_named_for_it_and_the_others_as_always(calls):
    events.publish(Happened(1))
    with events.previewing():
        events.publish(Happened(2))
    with pytest.raises(RuntimeError), events.previewing():
        raise RuntimeError
    events.publish(Happened(3))
    assert calls == [("keeps", 1), ("plain", 1), ("instead", 2), ("plain", 2), ("keeps", 3), ("plain", 3)]
