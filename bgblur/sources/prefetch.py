"""Decode (and optionally prepare) a video file ahead of the pipeline: every frame, in order, the next few waiting.

A reader thread decodes while the main thread works on an earlier frame. Given a ``prepare`` function, the reader
also runs it on each frame (the file loop's model step, and over that its matte step), so that work is done a few
frames ahead of the compositing. Unlike the live latest-frame reader, nothing is ever dropped: the queue is bounded
and the reader waits when it is full.

Stages chain: a ``PrefetchSource`` over another one gets each frame with what the earlier stage prepared for it,
so a file's model and its matte step run in two threads, each a frame or so ahead of the next (the matte step
alone took as long as the rest of the frame's work on one core).
"""

from __future__ import annotations

import queue
from collections.abc import Callable

from bgblur.frames import Frame
from bgblur.sources.base import Source
from bgblur.threads import END, Worker


class PrefetchSource(Source):
    """Wraps a file source; ``read()`` returns its frames in order (an error of the reader is raised there, after
    the frames read before it), and ``read_prepared()`` each frame with what ``prepare`` returned for it in the
    reader thread: ``prepare(frame)``, or ``prepare(frame, earlier)`` over another ``PrefetchSource`` that
    prepares (``earlier``: what that one prepared). ``name``: the thread's (``bgblur-<name>``)."""

    def __init__(
        self,
        inner: Source,
        depth: int = 3,
        prepare: Callable[..., object] | None = None,
        name: str = "decoder",
    ) -> None:
        self.inner = inner
        self.info = inner.info
        self.prepare = prepare
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._ended = False
        self._reader = Worker(self._run, name, on_exit=self._end)
        self._reader.start()  # only now: the thread uses self._reader

    def _take(self) -> tuple[Frame, object] | None:
        """The next frame and the arguments ``prepare`` gets for it (None at the end)."""
        if isinstance(self.inner, PrefetchSource) and self.inner.prepare is not None:
            item = self.inner.read_prepared()
            return None if item is None else (item[0], item)
        frame = self.inner.read()
        return None if frame is None else (frame, (frame,))

    def _run(self, stop) -> None:
        while not stop.is_set():
            taken = self._take()
            if taken is None:
                return
            frame, arguments = taken
            prepared = self.prepare(*arguments) if self.prepare is not None else None
            if not self._reader.put(self._queue, (frame, prepared)):
                return

    def _end(self) -> None:
        self._reader.put(self._queue, END)  # after the last frame, or after a failure (raised by read())

    def read(self) -> Frame | None:
        item = self.read_prepared()
        return None if item is None else item[0]

    def read_prepared(self) -> tuple[Frame, object] | None:
        """The next frame and what ``prepare`` gave for it (None without ``prepare``); None at the end."""
        if self._ended:
            return None
        item = self._queue.get()
        if item is END:
            self._ended = True
            self._reader.check()
            return None
        return item  # type: ignore[return-value]

    def stop(self) -> None:
        """Stop the reader and join it; the wrapped source stays open (its owner closes it)."""
        self._ended = True
        self._reader.stop()

    def close(self) -> None:
        """Stop the reader, then close the wrapped source (in that order: the reader may be mid-read)."""
        self.stop()
        self.inner.close()
