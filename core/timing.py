"""Wall time of the phases of a long piece of work (an import), for the benchmark and the logs."""

import time
from contextlib import contextmanager


def _wall_ms():
    return time.perf_counter() * 1000


def _cpu_ms():
    return time.process_time() * 1000


class PhaseTimer:
    """Milliseconds spent in each named phase, summed when a phase is entered again.

    Phases nest: an inner phase's time counts for it alone, not for the phase around it, so the
    phases add up to the time measured. ``timer.ms`` maps each phase to its wall-clock
    milliseconds, in the order they were first entered; ``timer.cpu_ms`` to the CPU time of this
    process in it (the rest is waiting, mostly for the database server).

    ``meters``: more readings to take per phase, ``{name: function}``, each function returning a
    running total (the database server's CPU time, say); ``timer.metered[name]`` maps each phase
    to what its total grew by in it, nested phases counted apart as above. A meter is read as a
    phase begins and ends, so it may not use a connection that a COPY may hold open then.
    """

    def __init__(self, meters=None):
        self._meters = {"ms": _wall_ms, "cpu_ms": _cpu_ms, **(meters or {})}
        self.metered = {name: {} for name in self._meters}
        self._inner = []  # per open phase: {meter: what the phases nested in it grew it by}

    @property
    def ms(self):
        return self.metered["ms"]

    @property
    def cpu_ms(self):
        return self.metered["cpu_ms"]

    def _read(self):
        return {name: meter() for name, meter in self._meters.items()}

    @contextmanager
    def phase(self, name):
        started = self._read()
        for values in self.metered.values():
            values.setdefault(name, 0.0)
        self._inner.append(dict.fromkeys(self._meters, 0.0))
        try:
            yield self
        finally:
            ended = self._read()
            inner = self._inner.pop()
            for meter, values in self.metered.items():
                grown = ended[meter] - started[meter]
                if self._inner:
                    self._inner[-1][meter] += grown
                values[name] += grown - inner[meter]

    @property
    def total_ms(self):
        return sum(self.ms.values())

    def __str__(self):
        return ", ".join(f"{name} {ms:.0f} ms (CPU {self.cpu_ms[name]:.0f})" for name, ms in self.ms.items())
