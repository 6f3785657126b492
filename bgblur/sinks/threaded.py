"""Encoding output files off the display loop: a sink whose ``write`` hands the picture to a writer thread.

Encoding a 720p frame (mp4v) costs ~10 ms, as much as everything else the live loop does per frame. A live
run hands the pictures to this thread and goes on; the queue is bounded, so if the encoder cannot keep up the
loop waits for it (every shown frame is still written, in order, none dropped).
"""

from __future__ import annotations

import contextlib
import queue

import numpy as np

from bgblur.errors import BgblurError
from bgblur.sinks import Sink
from bgblur.threads import END, Worker


class ThreadedWriter:
    """Wraps a sink: ``write`` queues the picture (callers must not change it afterwards), ``close`` writes what
    is queued, joins the thread and closes the sink. A failed write is raised by the next ``write``/``close``."""

    def __init__(self, sink: Sink, depth: int = 8) -> None:
        self.sink = sink
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._closed = False
        self._worker = Worker(self._run, "writer").start()

    def _run(self, stop) -> None:
        while (item := self._queue.get()) is not END:
            self.sink.write(item)  # type: ignore[arg-type]

    def write(self, image: np.ndarray) -> None:
        if self._closed:
            raise BgblurError("an output was written after it was closed")
        self._worker.check()
        if not self._worker.put(self._queue, image):
            self._worker.check()  # the writer stopped: its failure is the reason

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._worker.put(self._queue, END)
            self._worker.stop()
            self._worker.check()
        except BaseException:
            # The write's failure is the one to report: the sink's own close then fails for the same reason
            # (a vanished folder: "cannot finish" would hide "stopped after N frames").
            with contextlib.suppress(BgblurError, OSError):
                self.sink.close()
            raise
        self.sink.close()
