"""Wall time of the phases of a long piece of work (an import), for the benchmark and the logs."""

import time
from contextlib import contextmanager


class PhaseTimer:
    """Milliseconds spent in each named phase, summed when a phase is entered again.

    Phases nest: an inner phase's time counts for it alone, not for the phase around it, so the
    phases add up to the time measured. ``timer.ms`` maps each phase to its wall-clock
    milliseconds, in the order they were first entered; ``timer.cpu_ms`` to the CPU time of this
    process in it (the rest is waiting, mostly for the database server).
    """

    def __init__(self):
        self.ms = {}
        self.cpu_ms = {}
        self._inner = []  # per open phase: (wall, CPU) time spent in the phases nested in it

    @contextmanager
    def phase(self, name):
        started, cpu_started = time.perf_counter(), time.process_time()
        self.ms.setdefault(name, 0.0)
        self.cpu_ms.setdefault(name, 0.0)
        self._inner.append([0.0, 0.0])
        try:
            yield self
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            cpu = (time.process_time() - cpu_started) * 1000
            inner_wall, inner_cpu = self._inner.pop()
            if self._inner:
                self._inner[-1][0] += elapsed
                self._inner[-1][1] += cpu
            self.ms[name] += elapsed - inner_wall
            self.cpu_ms[name] += cpu - inner_cpu

    @property
    def total_ms(self):
        return sum(self.ms.values())

    def __str__(self):
        return ", ".join(f"{name} {ms:.0f} ms (CPU {self.cpu_ms[name]:.0f})" for name, ms in self.ms.items())
