"""Measuring for scripts/bench.py: this process's memory, a results table, sources and sinks that cut and count."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from bgblur.frames import Frame
from bgblur.run import StageTimes
from bgblur.sources import Source


class MemorySampler:
    """Peak resident memory (MB) of this process while the ``with`` block runs, sampled every 10 ms
    (OpenCV's buffers are invisible to tracemalloc; ru_maxrss never comes down between runs)."""

    def __enter__(self) -> MemorySampler:
        self.peak = self.start = resident_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, resident_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, resident_mb())


def resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


@dataclass
class Row:
    """One line of a results table."""

    model: str
    loop: str
    frames: int
    seconds: float
    times: StageTimes
    peak_mb: float
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def stage_ms(self, stage: str) -> float:
        values = self.times.samples.get(stage)
        return float(np.median(values) * 1000) if values else float("nan")

    @property
    def inference_rate(self) -> float:
        return self.times.counts.get("inference calls", 0) / self.seconds if self.seconds else 0.0


STAGES = ("capture", "inference", "matte", "warp", "composite", "output")


def print_table(rows: list[Row], extra_columns: tuple[str, ...] = ()) -> None:
    header = ["model", "loop", "frames", "out fps", "infer/s", *(f"{s} ms" for s in STAGES), "peak MB", "x naive"]
    header += list(extra_columns)
    naive_fps = {row.model: row.fps for row in rows if row.loop == "naive"}
    lines = []
    for row in rows:
        ratio = row.fps / naive_fps[row.model] if row.loop != "naive" and naive_fps.get(row.model) else None
        cells = [row.model, row.loop, str(row.frames), f"{row.fps:.1f}", f"{row.inference_rate:.1f}"]
        cells += ["-" if np.isnan(row.stage_ms(s)) else f"{row.stage_ms(s):.1f}" for s in STAGES]
        cells += [f"{row.peak_mb:.0f}", f"{ratio:.2f}" if ratio else "-"]
        cells += [f"{row.extra[c]:.1f}" if c in row.extra else "-" for c in extra_columns]
        lines.append(cells)
    print_markdown(header, lines)
    print(flush=True)


def print_markdown(header: list[str], lines: list[list[str]]) -> None:
    """A markdown table with aligned columns."""
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for line in lines:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")


def median_run(runs: list[Row]) -> Row:
    """The run with the median frame rate (its stage timings with it); the spread of all runs as extra columns."""
    ranked = sorted(runs, key=lambda row: row.fps)
    row = ranked[len(ranked) // 2]
    row.extra.update({"fps min": ranked[0].fps, "fps max": ranked[-1].fps})
    return row


class LimitedSource(Source):
    """At most ``limit`` frames of another source."""

    def __init__(self, inner: Source, limit: int) -> None:
        self.inner = inner
        self.limit = limit
        self.info = replace(inner.info, frame_count=min(limit, inner.frame_count or limit))
        self.read_count = 0

    def read(self) -> Frame | None:
        if self.read_count >= self.limit:
            return None
        frame = self.inner.read()
        self.read_count += frame is not None
        return frame

    def close(self) -> None:
        self.inner.close()


class CountingSink:
    """Counts written frames and drops them (both loops write nowhere)."""

    def __init__(self) -> None:
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        self.frames += 1

    def close(self) -> None:
        pass


def clip_frames(clip: Path, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(clip))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames
