"""A folder run on this machine: ``--jobs N`` worker processes (spawned: no inherited OpenCV or thread state),
each running :func:`bgblur.batch.task.run_task` on one file at a time with its OpenCV threads limited.

Ctrl-C (or SIGTERM) sets an event every worker checks between frames: files not yet started are cancelled, the
files in progress stop within a frame and publish nothing, and the run returns what was finished. Workers ignore
SIGINT themselves, so a Ctrl-C sent to the whole process group stops them through the event, cleanly.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import queue
import signal
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from bgblur.batch.plan import Item
from bgblur.batch.progress import LibraryBar
from bgblur.batch.task import Result, leftovers, run_task
from bgblur.options import Options

_STOP: Any = None
_PROGRESS: Any = None
POLL = 0.2  # s between looks at the progress queue


def _init_worker(stop: Any, progress: Any) -> None:
    global _STOP, _PROGRESS
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; the stop event tells us
    _STOP, _PROGRESS = stop, progress


def _work(options: Options, item: Item, threads: int) -> Result:
    return run_task(options, item, threads, stop=_STOP, progress=_PROGRESS)


def run_local(
    items: list[Item],
    options: Options,
    jobs: int,
    threads: int,
    bar: LibraryBar,
    report: Callable[[Result], None],
    stopping: Callable[[], bool],
) -> list[Result]:
    """Run ``items`` on ``jobs`` processes; ``report`` is called with each result as it comes, ``stopping`` says
    when the user asked to stop. Returns every file's result (cancelled files are not in it)."""
    context = multiprocessing.get_context("spawn")
    stop, progress = context.Event(), context.Queue()
    results: list[Result] = []
    with cf.ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=(stop, progress)) as pool:
        pending = {pool.submit(_work, options, item, threads): item for item in items}
        try:
            while pending:
                if stopping() and not stop.is_set():
                    stop.set()
                    for future in pending:
                        future.cancel()
                done, _ = cf.wait(pending, timeout=POLL, return_when=cf.FIRST_COMPLETED)
                _drain(progress, bar)
                for future in done:
                    item = pending.pop(future)
                    if future.cancelled():
                        continue
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        for path in leftovers(item.output):
                            path.unlink(missing_ok=True)
                        result = Result(str(item.source), str(item.output), "failed", error="its worker process died")
                    results.append(result)
                    report(result)
        finally:
            stop.set()
            _drain(progress, bar)
    progress.close()
    progress.join_thread()
    return results


def _drain(progress: Any, bar: LibraryBar) -> None:
    while True:
        try:
            kind, count = progress.get_nowait()
        except queue.Empty:
            return
        if kind == "start":
            bar.start(count)
        else:
            bar.frames(count)
