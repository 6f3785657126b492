"""A camera without a camera: pictures that "arrive" on a clock, for benchmarks and tests of the live path.

Behaves like :class:`~bgblur.sources.live.LiveSource` as the pipeline sees it — ``read()`` returns the newest frame
not handed out yet, waiting for the next one if needed; frames nobody took in time are gone — but the frames
come from memory, so decoding costs nothing and every run sees the same pictures.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np

from bgblur.frames import Frame, StreamInfo
from bgblur.sources.base import Source


class SimulatedCamera(Source):
    """Frame ``i`` of ``images`` (looped) is captured at ``start + i / fps``; ``frame_limit`` frames in all."""

    def __init__(self, images: Sequence[np.ndarray], fps: float = 30.0, frame_limit: int | None = None) -> None:
        if not images:
            raise ValueError("a simulated camera needs at least one picture")
        self.images = images
        self.frame_limit = frame_limit
        size = (images[0].shape[1], images[0].shape[0])
        self.info = StreamInfo(f"simulated camera ({len(images)} pictures at {fps:g} fps)", size, fps, is_live=True)
        self.dropped = 0  # frames that came and went while nobody read
        self._start: float | None = None
        self._closed = False
        self._last_index = -1

    def read(self) -> Frame | None:
        if self._closed:
            return None
        now = time.monotonic()
        if self._start is None:
            self._start = now
        newest = math.floor((now - self._start) * self.fps)
        if newest <= self._last_index:  # already handed out: wait for the next capture
            newest = self._last_index + 1
            time.sleep(max(0.0, self._start + newest / self.fps - now))
        if self.frame_limit is not None and newest >= self.frame_limit:
            return None
        self.dropped += newest - self._last_index - 1
        self._last_index = newest
        return Frame(self.images[newest % len(self.images)], newest, self._start + newest / self.fps)

    def close(self) -> None:
        self._closed = True
