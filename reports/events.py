"""What happens to the reports' own records (see ``core.events``)."""

from dataclasses import dataclass

from core.events import Event


@dataclass(frozen=True)
class TargetsChanged(Event):
    """Targets of ``year`` were set, removed or carried to successors (``reports.services``, and
    the test factories)."""

    year: int
