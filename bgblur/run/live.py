"""The loop for cameras and streams: shown at the camera's rate, the model in a worker thread on the newest frame.

The worker analyses the newest frame it can take (at most one inference in flight, a frame never analysed twice,
frames that went stale while it was busy skipped). Every shown frame uses the newest matte: as it is when it
belongs to this frame or the one before, else moved along optical flow from its frame to this one. ``sync``
trades latency for exactness instead: each frame waits for, and is shown with, its own matte.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import cv2
import numpy as np

from bgblur.frames import Frame, Matte
from bgblur.matte.flow import MatteWarper
from bgblur.run.pipeline import Pipeline
from bgblur.run.stats import StageTimes
from bgblur.sources import Source
from bgblur.threads import Worker

# A model this much faster than the frame interval is worth waiting for: the frame is then shown with its own
# matte (no warp, no lag) and still at the camera's rate.
WAIT_FOR_OWN_MATTE = 0.5
# A matte at most this many frames old is used as it is: one frame of motion is within the soft edge, and the
# flow warp would cost more than it corrects.
NO_WARP_AGE = 1
BUDGET_PERIOD = 1.0  # s between two looks at the CPU used, under --max-cpu
MAX_STRIDE = 6  # --max-cpu: the model runs on at least every 6th frame (5 a second at 30 fps)


class CpuBudget:
    """``--max-cpu``: how often the model may run so the process stays under ``cores`` of CPU on average.

    Once a second it compares the process's CPU time with the wall-clock time: over the budget, the model runs on
    one frame fewer in each stretch (every 2nd, 3rd, ... frame, at most every :data:`MAX_STRIDE`-th); well under it,
    one more. Frames in between are shown with the newest matte as it is (no optical-flow warp, which would cost
    about what the model costs with the fast runtime)."""

    def __init__(
        self,
        cores: float,
        wall_clock: Callable[[], float] = time.perf_counter,
        cpu_clock: Callable[[], float] = time.process_time,
    ) -> None:
        self.cores = cores
        self.stride = 1
        self.wall_clock, self.cpu_clock = wall_clock, cpu_clock  # (given by tests: the rule without waiting)
        self._wall = wall_clock()
        self._cpu = cpu_clock()

    def update(self) -> None:
        wall, cpu = self.wall_clock(), self.cpu_clock()
        if wall - self._wall < BUDGET_PERIOD:
            return
        used = (cpu - self._cpu) / (wall - self._wall)
        if used > self.cores:
            self.stride = min(MAX_STRIDE, self.stride + 1)
        elif used < 0.8 * self.cores:
            self.stride = max(1, self.stride - 1)
        self._wall, self._cpu = wall, cpu


class InferenceWorker:
    """Runs ``analyse(frame) -> Matte`` in a background thread on the newest offered frame.

    ``offer`` never blocks: it replaces a frame still waiting (that one is skipped). The worker takes the waiting
    frame when it is free, so at most one inference is in flight and no frame is analysed twice. An exception in
    the worker is raised again in the caller's thread by the next ``offer``/``latest``/``wait_for``.
    """

    def __init__(self, analyse: Callable[[Frame], Matte | None]) -> None:
        self.analyse = analyse
        self.calls = 0
        self.skipped = 0  # frames offered but replaced by a newer one before the worker was free
        self.inference_seconds = 0.0  # the last analysis's time, to decide whether waiting pays
        self._cond = threading.Condition()
        self._waiting: Frame | None = None
        self._latest: tuple[Matte, np.ndarray] | None = None  # the newest matte and the picture it was made on
        self._worker = Worker(self._run, "inference", on_exit=self._wake).start()

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def offer(self, frame: Frame) -> None:
        """Hand the worker a newer frame; a frame it has not taken yet is dropped in its favour."""
        with self._cond:
            self._worker.check()
            if self._waiting is not None:
                self.skipped += 1
            self._waiting = frame
            self._cond.notify_all()

    def latest(self) -> tuple[Matte, np.ndarray] | None:
        """The newest finished matte and its frame's picture (``None`` before the first)."""
        with self._cond:
            self._worker.check()
            return self._latest

    def wait_for(self, frame_index: int, timeout: float | None = None) -> tuple[Matte, np.ndarray] | None:
        """Wait until a matte for ``frame_index`` or a later frame is done; the newest (``None`` on timeout before
        any)."""
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    not self._worker.alive
                    or self._worker.stop_event.is_set()
                    or (self._latest is not None and self._latest[0].index >= frame_index)
                ),
                timeout=timeout,
            )
            self._worker.check()
            return self._latest

    def close(self) -> None:
        """Stop after the analysis in flight and join the thread."""
        self._worker.stop(wake=self._wake)

    def _run(self, stop: threading.Event) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: stop.is_set() or self._waiting is not None)
                if stop.is_set():
                    return
                frame, self._waiting = self._waiting, None
            start = time.perf_counter()
            matte = self.analyse(frame)
            seconds = time.perf_counter() - start
            with self._cond:
                self.calls += 1
                self.inference_seconds = seconds
                if matte is not None:
                    self._latest = (matte, frame.image)
                self._cond.notify_all()


class OutputPacer:
    """How many times to write each shown frame so a file at the source's nominal rate keeps the live timeline:
    a frame shown for two camera intervals (one dropped) is written twice."""

    def __init__(self, fps: float) -> None:
        self.fps = fps
        self._start: float | None = None
        self._written = 0

    def repeats(self, timestamp: float) -> int:
        if self._start is None:
            self._start = timestamp
        due = round((timestamp - self._start) * self.fps) + 1  # frames the file should hold after this one
        count = max(1, due - self._written)
        self._written += count
        return count


class LiveLoop:
    """Shows every frame a live ``source`` gives, through ``pipeline``, with the newest matte."""

    def __init__(self, pipeline: Pipeline, source: Source, *, sync: bool = False, max_cpu: float | None = None) -> None:
        self.pipeline = pipeline
        self.source = source
        self.sync = sync
        self.budget = CpuBudget(max_cpu) if max_cpu else None
        self.times: StageTimes = pipeline.times
        self.warper = MatteWarper()
        fps = source.fps or 30.0
        self.pacer = OutputPacer(fps)
        self.frame_interval = 1.0 / fps
        self._cores_shared = False

    def _show(self, frame: Frame, latest: tuple[Matte, np.ndarray] | None) -> None:
        """``frame`` with the newest matte carried onto it (or none yet: the whole frame is blurred)."""
        start = time.perf_counter()
        matte = None
        if latest is not None and self.pipeline.needs_matte():
            matte, picture = latest
            age = frame.index - matte.index
            if age > NO_WARP_AGE and self.budget is None:
                matte = replace(matte, alpha=self.warper.warp(matte.alpha, picture, frame.image))
                self.times.lap("warp", start)
            self.times.measure("matte age (frames)", age)
            self.times.measure("matte age (ms)", (frame.timestamp - matte.timestamp) * 1000)
        self.pipeline.step(frame, matte, repeat=self.pacer.repeats(frame.timestamp))
        # Capture to shown; both clocks are time.monotonic (LiveSource, SimulatedCamera).
        self.times.measure("latency (ms)", (time.monotonic() - frame.timestamp) * 1000)

    def _read(self) -> Frame | None:
        start = time.perf_counter()
        frame = self.source.read()
        if frame is not None:
            self.times.lap("capture", start)
        return frame

    def run(self) -> None:
        """Until the source ends or the user quits; the worker is always joined."""
        threads = cv2.getNumThreads()
        worker = InferenceWorker(self.pipeline.analyse)
        self.times.start()
        try:
            if self.sync:
                self._run_sync(worker)
            else:
                self._run_newest(worker)
        finally:
            worker.close()
            cv2.setNumThreads(threads)
            self.times.stop()
            self.times.count("frames skipped by inference", worker.skipped)

    def _share_cores(self, worker: InferenceWorker) -> None:
        """Once the model's speed is known (the second inference; the first is a warm-up): a model slower than
        the camera gets one core fewer, left to the display loop. On 2 cores, Mask R-CNN on both starved the display
        (20.8 -> 25.8 fps shown with one OpenCV thread, inference rate unchanged); the selfie model keeps both
        (with one it took 36 ms instead of 17 and its matte lagged a frame more)."""
        if self._cores_shared or worker.calls < 2:
            return
        self._cores_shared = True
        if worker.inference_seconds > self.frame_interval:
            cv2.setNumThreads(max(1, (os.cpu_count() or 2) - 1))

    def _run_newest(self, worker: InferenceWorker) -> None:
        offered = -MAX_STRIDE  # index of the last frame handed to the model
        while not self.pipeline.controls.stop:
            frame = self._read()
            if frame is None:
                return
            latest = None
            if self.pipeline.needs_matte():
                self._share_cores(worker)
                stride = 1
                if self.budget is not None:
                    self.budget.update()
                    stride = self.budget.stride
                if frame.index - offered >= stride:
                    worker.offer(frame)
                    offered = frame.index
                latest = worker.latest()
                # A fast model's own matte arrives well within the frame interval: wait for it.
                fast = worker.inference_seconds < WAIT_FOR_OWN_MATTE * self.frame_interval
                if latest is not None and fast and offered == frame.index:
                    latest = worker.wait_for(frame.index, timeout=self.frame_interval) or latest
            self._show(frame, latest)
            if self.budget is not None:
                self.times.measure("model stride under --max-cpu", self.budget.stride)

    def _run_sync(self, worker: InferenceWorker) -> None:
        frame = self._read()
        offered = False
        while frame is not None and not self.pipeline.controls.stop:
            latest = None
            if self.pipeline.needs_matte():
                if not offered:
                    worker.offer(frame)
                latest = worker.wait_for(frame.index)
                if latest is None or latest[0].index != frame.index:
                    return  # the worker stopped
            # Take the next frame now, so its analysis overlaps this frame's compositing and output.
            following = self._read()
            offered = following is not None and self.pipeline.needs_matte()
            if offered:
                worker.offer(following)
            self._show(frame, latest)
            frame = following
