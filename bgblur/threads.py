"""One way to run work in a background thread: :class:`Worker`.

Every thread bgblur starts (the live capture, the video prefetch, the inference worker, the file writer, the
virtual-camera sender) is a Worker: a daemon thread running ``target(stop)`` until it returns or ``stop`` is set.
An exception in it is kept and raised again in the owner's thread by :meth:`Worker.check` (and by
:meth:`Worker.stop`), so no failure is lost and no thread is left running.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import threading
from collections.abc import Callable, Iterator

END = object()  # put into a queue to say "no more items" (see Worker.put / Worker.take)


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS says, else the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def opencv_threads(live: bool, still: bool) -> Iterator[None]:
    """Within the block, OpenCV's own thread pool sized for the run: a video's stages already run in threads of
    their own (decoding, analysis, compositing, writing keep two cores busy), so OpenCV splitting each resize and
    blur over the same cores only adds CPU: live runs get one thread (their rate is the camera's; measured: the
    composite 5.2 -> 3.7 ms CPU a frame), file runs the cores beyond those two (at least one). A still picture keeps
    what the process has (its analysis runs alone). Never more than it had (batch workers set their share)."""
    import cv2

    before = cv2.getNumThreads()
    if not still:
        cv2.setNumThreads(max(1, min(before, 1 if live else usable_cores() - 2)))
    try:
        yield
    finally:
        cv2.setNumThreads(before)


@contextlib.contextmanager
def stop_signals(on_stop: Callable[[int], None]) -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM call ``on_stop(signum)`` (the run then stops cleanly, its files
    finalised) instead of killing the process; the previous handlers come back after."""
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda signum, _frame: on_stop(signum)) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Worker:
    """A named daemon thread running ``target(stop_event)``; ``on_exit`` runs in the thread as it ends (to wake
    anyone waiting for it), whether it returned or failed."""

    def __init__(
        self, target: Callable[[threading.Event], None], name: str, on_exit: Callable[[], None] | None = None
    ) -> None:
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self._target = target
        self._on_exit = on_exit
        self._thread = threading.Thread(target=self._main, name=f"bgblur-{name}", daemon=True)

    def start(self) -> Worker:
        self._thread.start()
        return self

    def _main(self) -> None:
        try:
            self._target(self.stop_event)
        except BaseException as exc:  # raised again in the owner's thread by check()
            self.error = exc
        finally:
            if self._on_exit is not None:
                self._on_exit()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def check(self) -> None:
        """Raise, in the caller's thread, the exception that ended the worker (if one did)."""
        if self.error is not None:
            raise self.error

    def stop(self, timeout: float | None = None, wake: Callable[[], None] | None = None) -> None:
        """Ask the worker to stop, ``wake`` it if it waits on something else than the stop event, and join it
        (for at most ``timeout`` seconds). Its error, if any, is left for :meth:`check`."""
        self.stop_event.set()
        if wake is not None:
            wake()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def put(self, items: queue.Queue, item: object) -> bool:
        """Queue ``item``, waiting for room while the worker runs; False once it stopped or was told to."""
        while not self.stop_event.is_set() and self.alive:
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False
