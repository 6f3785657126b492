"""Encoding output files off the display loop: a sink whose ``write`` hands the picture to a writer thread.

Encoding a 720p frame (mp4v) costs ~10 ms, as much as everything else the live loop does per frame. A live
run hands the pictures to this thread and goes on; the queue is bounded, so if the encoder cannot keep up the
loop waits for it (every shown frame is still written, in order, none dropped).
"""

from __future__ import annotations

import queue
import threading
from typing import Protocol

import numpy as np

_END = object()


class Sink(Protocol):
    def write(self, image: np.ndarray) -> None: ...

    def close(self) -> None: ...


class ThreadedWriter:
    """Wraps a sink: ``write`` queues the picture (callers must not change it afterwards), ``finish`` waits
    until everything is written and joins the thread. A failed write is raised by every later ``write``/``finish``."""

    def __init__(self, sink: Sink, depth: int = 8) -> None:
        self.sink = sink
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bgblur-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not _END:
            if self._error is None:  # after a failure, drain without writing so producers never block
                try:
                    self.sink.write(item)  # type: ignore[arg-type]
                except BaseException as exc:
                    self._error = exc

    def write(self, image: np.ndarray) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(image)

    def finish(self) -> None:
        """Write what is queued, stop the thread; the wrapped sink stays open (its owner closes it)."""
        if self._thread.is_alive():
            self._queue.put(_END)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self.finish()
        self.sink.close()
