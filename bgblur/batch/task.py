"""One file of a folder run: a plain function, the same in a local worker process and in a Ray task.

The file is run exactly as ``bgblur --source FILE --output OUT --no-window`` would run it (open the source, build
the pipeline, run it, close it), in this process, and written under a hidden staging name; it gets its real name
only when everything succeeded. So a damaged file, a model failure, a Ctrl-C or a killed worker never leaves a
file under the output's name that a later run would take for complete. The task never raises for a bad file:
it returns a :class:`Result`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bgblur.batch.plan import Item
from bgblur.errors import BgblurError
from bgblur.frames import Controls, Frame
from bgblur.options import Options
from bgblur.sources.base import Source

PROGRESS_EVERY = 0.5  # s between frame counts sent to the progress bar


@dataclass
class Result:
    """What became of one file: ``status`` is done, failed, interrupted (stopped by the user, not published) or not
    done (a Ray run that lost every node that could run it)."""

    source: str
    output: str
    status: str
    frames: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # CPU time of the worker process (every thread) for this file
    error: str | None = None
    host: str | None = None
    lost: list[str] = field(default_factory=list)  # what was lost while it ran (a Ray node, a worker): one per retry


class Interrupted(Exception):
    """The run was stopped while this file was being processed."""


def staging_path(path: Path) -> Path:
    """Where a task writes ``path`` before publishing it: hidden, same folder, same extension."""
    return path.with_name(f".{path.stem}.bgblur-batch{path.suffix}")


def leftovers(path: Path) -> list[Path]:
    """Every hidden file a task (or its sink) may leave for ``path`` when it is killed."""
    from bgblur.sinks.files import partial_path

    staging = staging_path(path)
    return [staging, partial_path(staging), partial_path(path)]


def limit_threads(threads: int) -> None:
    """Give this process's OpenCV (resizes, blurs, cv2.dnn) ``threads`` threads, so N workers do not fight over the
    cores. (The model on LiteRT already runs on one thread; FFmpeg's decoder picks its own count, which
    ``cv2.setNumThreads`` does not change: its threads mostly wait on each other.)"""
    if threads <= 0:
        return
    import cv2

    cv2.setNumThreads(threads)


class CountingSource(Source):
    """Another source, counted: sends frame counts to ``progress`` (a queue, or None) and ends the file early, as
    interrupted, once ``stop`` (an event, or None) is set."""

    def __init__(self, inner: Source, controls: Controls, stop: Any = None, progress: Any = None) -> None:
        self.inner = inner
        self.info = inner.info
        self.controls = controls
        self.stop = stop
        self.progress = progress
        self.frames = 0
        self.stopped = False
        self._unsent = 0
        self._sent_at = time.monotonic()

    def read(self) -> Frame | None:
        if self.stop is not None and self.stop.is_set():
            self.stopped = self.controls.stop = True
            return None
        frame = self.inner.read()
        if frame is not None:
            self.frames += 1
            self._unsent += 1
            if self.progress is not None and time.monotonic() - self._sent_at > PROGRESS_EVERY:
                self.flush()
        return frame

    def flush(self) -> None:
        if self.progress is not None and self._unsent:
            self.progress.put(("frames", self._unsent))
            self._unsent, self._sent_at = 0, time.monotonic()

    def close(self) -> None:
        self.inner.close()


def _options(options: Options, item: Item) -> Options:
    """The folder run's options for one of its files, written to its staging names. (The user's --quiet stays: a
    file whose sound could not be copied still says so.)"""
    matte = None if item.matte is None else staging_path(item.matte)
    staged = {"source": str(item.source), "output": staging_path(item.output), "matte": matte}
    return options.replace(**staged, no_window=True, virtual_camera=None, overwrite=True)


def _process(options: Options, item: Item, stop: Any, progress: Any, opened: list[int]) -> int:
    """Run the file into its staging names; returns the frames read. Raises BgblurError or Interrupted.
    ``opened`` gets the source's frame count once it is open."""
    from bgblur.session import run_source
    from bgblur.sources import open_source

    if stop is not None and stop.is_set():
        raise Interrupted
    args = _options(options, item)
    for target in (item.output, item.matte):
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            for path in leftovers(target):
                path.unlink(missing_ok=True)
    controls = Controls()
    with open_source(args.source) as inner:
        opened.append(inner.frame_count or 1)
        if progress is not None:
            progress.put(("start", opened[0]))
        source = CountingSource(inner, controls, stop, progress)
        try:
            run_source(args, source, controls, progress=False)
        finally:
            source.flush()
            if source.stopped or (stop is not None and stop.is_set()):
                raise Interrupted  # (a stop, not the file's failure)
        return source.frames


def run_task(options: Options, item: Item, threads: int = 0, *, stop: Any = None, progress: Any = None) -> Result:
    """Process one file of a folder run with the run's ``options`` (pickled to the worker); never raises for a
    bad file. ``threads``: OpenCV threads for this worker (0 leaves OpenCV's default); ``stop``: an event that
    interrupts the file; ``progress``: a queue for ("start", frame_count) and ("frames", n) messages."""
    import socket

    start, cpu = time.perf_counter(), time.process_time()
    result = Result(str(item.source), str(item.output), "failed", host=socket.gethostname())
    limit_threads(threads)
    opened: list[int] = []
    try:
        result.frames = _process(options, item, stop, progress, opened)
        for target in (item.output, item.matte):
            if target is not None:
                os.replace(staging_path(target), target)
        result.status = "done"
    except Interrupted:
        result.status = "interrupted"
    except BgblurError as exc:
        # A single-file run keeps the frames of a truncated video; a folder run publishes complete files only.
        result.error = str(exc).replace("the output holds those frames", "no output was written for it")
    except Exception as exc:  # a bug or an unexpected library error: still this file's own one line
        result.error = f"unexpected {type(exc).__name__}: {exc}"
    finally:
        if progress is not None and not opened:  # never opened: nothing to count, but the bar counts it as started
            progress.put(("start", 0))
        if result.status != "done":
            for target in (item.output, item.matte):
                for path in leftovers(target) if target is not None else ():
                    path.unlink(missing_ok=True)
    result.seconds = round(time.perf_counter() - start, 3)
    result.cpu_seconds = round(time.process_time() - cpu, 3)
    return result
