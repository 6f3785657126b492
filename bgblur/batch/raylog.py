"""Ray's own lines off bgblur's terminal, into a log file beside Ray's: bgblur's folder run prints bgblur's lines.

``ray.init(log_to_driver=False)`` stops the workers' output, but not everything Ray prints in the driver: when a
node dies, its agents publish "Raylet is terminated" with the last 20 lines of the raylet's log (``[state-dump]``,
``worker_pool.cc``, ``node_manager.cc``), and the autoscaler publishes "cannot be scheduled" warnings; Ray's
``ray_listen_error_messages`` thread prints those to ``sys.stdout`` whatever ``log_to_driver`` says (Ray 2.60,
``ray/_private/worker.py``); and ``ray.shutdown()`` prints, from the main thread, the messages its de-duplicator
held back. And the ``ray`` logger writes to stderr. While a run is on Ray, :class:`RayLog` takes all that: the
lines Ray's threads print, everything printed while Ray starts and shuts down (:meth:`RayLog.everything`), and the
``ray`` logger's records go to ``SESSION_DIR/logs/bgblur-driver-PID.log`` (kept in memory until Ray has started
and says where its session is).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

RAY_THREADS = "ray_"  # Ray names its driver threads ray_listen_error_messages, ray_print_logs


class _Aside(io.TextIOBase):
    """A standard stream whose writes from Ray's threads (or all of them, while Ray starts or stops) go to the log;
    the others' to the real stream."""

    def __init__(self, real: TextIO, log: RayLog) -> None:
        self.real, self.log = real, log

    def write(self, text: str) -> int:
        if self.log.taking_all or threading.current_thread().name.startswith(RAY_THREADS):
            self.log.write(text)
        else:
            self.real.write(text)
        return len(text)

    def flush(self) -> None:
        self.real.flush()

    def isatty(self) -> bool:
        return self.real.isatty()

    def fileno(self) -> int:
        return self.real.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.real.encoding

    @property
    def closed(self) -> bool:  # type: ignore[override]  # colorama, imported by Ray, asks at exit
        return self.real.closed

    def __getattr__(self, name: str) -> object:  # buffer, errors, ...: the real stream's
        return getattr(self.real, name)


class _Records(logging.Handler):
    def __init__(self, log: RayLog) -> None:
        super().__init__(logging.INFO)
        self.log = log
        self.setFormatter(logging.Formatter("%(asctime)s\t%(levelname)s %(filename)s:%(lineno)s -- %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.log.write(self.format(record) + "\n")


class RayLog:
    """A context: inside it, Ray's driver-side lines go to the log, not to the terminal. ``open(session_dir)``
    once Ray has started; ``path`` is where the lines went (None before that)."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.taking_all = False
        self._file: TextIO | None = None
        self._held: list[str] = []
        self._lock = threading.Lock()
        self._logger = logging.getLogger("ray")

    def write(self, text: str) -> None:
        with self._lock:
            if self._file is None:
                self._held.append(text)
            else:
                self._file.write(text)
                self._file.flush()

    def open(self, session_dir: str | None) -> None:
        """Start writing to the session's log folder (or drop the lines if Ray gave none, or it is not writable)."""
        if not session_dir:
            return
        path = Path(session_dir) / "logs" / f"bgblur-driver-{os.getpid()}.log"
        try:
            handle = path.open("a", encoding="utf-8")
        except OSError:
            return
        with self._lock:
            self._file, self.path = handle, path
            handle.write("".join(self._held))
            handle.flush()
            self._held.clear()

    @contextlib.contextmanager
    def everything(self) -> Iterator[None]:
        """Inside: whatever any thread prints goes to the log (Ray starting, or stopping and flushing what it held)."""
        self.taking_all = True
        try:
            yield
        finally:
            self.taking_all = False

    def __enter__(self) -> RayLog:
        self._saved = (sys.stdout, sys.stderr, self._logger.handlers[:], self._logger.level, self._logger.propagate)
        sys.stdout, sys.stderr = _Aside(sys.stdout, self), _Aside(sys.stderr, self)
        self._logger.handlers = [_Records(self)]
        self._logger.setLevel(logging.INFO)
        self._logger.propagate = False
        return self

    def __exit__(self, *_: object) -> None:
        # After ray.shutdown(), which joins Ray's threads: nothing of Ray's is left to print.
        sys.stdout, sys.stderr, handlers, level, propagate = self._saved
        self._logger.handlers, self._logger.propagate = handlers, propagate
        self._logger.setLevel(level)
        with self._lock:
            if self._file is not None:
                self._file.close()
            self._file = None
            self._held.clear()
