"""Where the time and the CPU go: :class:`StageTimes`, summarised by ``--stats``."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

import numpy as np

STATS_WINDOW = 10_000  # values of each kind kept: a call of hours keeps its memory bounded


@dataclass
class StageTimes:
    """Seconds per stage per frame, per-frame measures (matte age) and counts (inference calls, frames shown) over
    the run's wall-clock time, and the process's CPU time over the same span. Safe to feed from several threads."""

    samples: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(lambda: deque(maxlen=STATS_WINDOW)))
    measures: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(lambda: deque(maxlen=STATS_WINDOW)))
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    started: float | None = None
    stopped: float | None = None
    cpu_started: float | None = None
    cpu_stopped: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.samples[stage].append(seconds)

    def lap(self, stage: str, start: float) -> float:
        """Record the time since ``start`` (``time.perf_counter()``) for ``stage``; returns now, the next start."""
        now = time.perf_counter()
        self.add(stage, now - start)
        return now

    def measure(self, name: str, value: float) -> None:
        """Record a per-frame value that is not a stage time (e.g. matte age)."""
        with self._lock:
            self.measures[name].append(value)

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.counts[name] += amount

    def start(self) -> None:
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()  # every thread of the process: model, decoder, writer, window

    def stop(self) -> None:
        self.stopped = time.perf_counter()
        self.cpu_stopped = time.process_time()

    @property
    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.stopped or time.perf_counter()) - self.started

    @property
    def cpu_seconds(self) -> float:
        """CPU time of the whole process (all threads) while the run ran."""
        if self.cpu_started is None:
            return 0.0
        return (self.cpu_stopped or time.process_time()) - self.cpu_started

    def summary(self) -> str:
        lines = [f"{'stage':<10} {'frames':>7} {'median ms':>10} {'mean ms':>9} {'max ms':>8}"]
        with self._lock:
            samples = {stage: list(values) for stage, values in self.samples.items()}
            measures = {name: list(values) for name, values in self.measures.items()}
            counts = dict(self.counts)
        for stage, values in samples.items():
            arr = np.array(values) * 1000
            lines.append(f"{stage:<10} {len(arr):>7} {np.median(arr):>10.2f} {arr.mean():>9.2f} {arr.max():>8.2f}")
        for name, values in measures.items():
            arr = np.array(values, float)
            lines.append(f"{name}: median {np.median(arr):.1f}, mean {arr.mean():.1f}, max {arr.max():.1f}")
        if self.elapsed > 0:
            for name, count in counts.items():
                lines.append(f"{name}: {count} ({count / self.elapsed:.1f}/s over {self.elapsed:.1f} s)")
            shown = counts.get("frames shown", 0)
            per_frame = f", {1000 * self.cpu_seconds / shown:.1f} ms per frame shown" if shown else ""
            lines.append(
                f"CPU: {self.cpu_seconds:.1f} s over {self.elapsed:.1f} s = {self.cpu_seconds / self.elapsed:.2f} "
                f"cores busy{per_frame}"
            )
        return "\n".join(lines)
