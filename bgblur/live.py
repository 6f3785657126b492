"""Live sources at the camera's rate: inference in a worker thread, compositing and output in the main loop.

The worker segments the newest frame it can take (at most one inference in flight, a frame never segmented
twice, frames that went stale while it was busy skipped). Every shown frame uses the newest matte, warped
along optical flow from the frame it was computed on to the frame being shown. ``sync`` trades latency for
exactness instead: each frame waits for, and is shown with, its own matte.

File sources never come here: they are processed inline, every frame (see :mod:`bgblur.pipeline`).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from bgblur.flow import MatteWarper, flow_image
from bgblur.sources import Frame
from bgblur.writer import ThreadedWriter

if TYPE_CHECKING:
    from bgblur.matte import MatteMaker
    from bgblur.pipeline import Pipeline, StageTimes
    from bgblur.segmenters import Segmenter

# A model this much faster than the frame interval is worth waiting for: the frame is then shown with its own
# matte (no warp, no lag) and still at the camera's rate.
WAIT_FOR_OWN_MATTE = 0.5


@dataclass(frozen=True)
class Matte:
    """An alpha matte (uint8, 255 = person: warped and blended as 8-bit, 4x less memory traffic) and the frame
    it was computed on."""

    alpha: np.ndarray
    frame_index: int
    timestamp: float  # capture time of that frame (s, the source's clock)
    flow_image: np.ndarray  # that frame's small grey copy, where optical flow starts from


class InferenceWorker:
    """Runs ``segmenter`` and ``matte_maker`` in a background thread on the newest offered frame.

    ``offer`` never blocks: it replaces a frame still waiting (that one is skipped). The worker takes the
    waiting frame when it is free, so at most one inference is in flight and no frame is segmented twice.
    An exception in the worker is raised again in the caller's thread by the next ``offer``/``latest``/``wait_for``.
    """

    def __init__(self, segmenter: Segmenter, matte_maker: MatteMaker, times: StageTimes | None = None) -> None:
        self.segmenter = segmenter
        self.matte_maker = matte_maker
        self.times = times
        self.calls = 0
        self.skipped = 0  # frames offered but replaced by a newer one before the worker was free
        self.inference_seconds = 0.0  # last inference + matte time, to decide whether waiting pays
        self._cond = threading.Condition()
        self._waiting: Frame | None = None
        self._latest: Matte | None = None
        self._error: BaseException | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="bgblur-inference", daemon=True)
        self._thread.start()

    def offer(self, frame: Frame) -> None:
        """Hand the worker a newer frame; a frame it has not taken yet is dropped in its favour."""
        with self._cond:
            self._raise_error()
            if self._waiting is not None:
                self.skipped += 1
            self._waiting = frame
            self._cond.notify_all()

    def latest(self) -> Matte | None:
        """The newest finished matte (``None`` before the first)."""
        with self._cond:
            self._raise_error()
            return self._latest

    def wait_for(self, frame_index: int, timeout: float | None = None) -> Matte | None:
        """Wait until a matte for ``frame_index`` or a later frame is done; the newest matte (``None`` on timeout
        before any)."""
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    self._error is not None
                    or self._stop
                    or (self._latest is not None and self._latest.frame_index >= frame_index)
                ),
                timeout=timeout,
            )
            self._raise_error()
            return self._latest

    def close(self) -> None:
        """Stop after the inference in flight and join the thread."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stop or self._waiting is not None)
                if self._stop:
                    return
                frame, self._waiting = self._waiting, None
            try:
                start = time.perf_counter()
                probability = self.segmenter.segment(frame.image)
                segmented = time.perf_counter()
                alpha = self.matte_maker(probability, frame.image)
                matte = Matte(alpha, frame.index, frame.timestamp, flow_image(frame.image))
                done = time.perf_counter()
            except BaseException as exc:  # handed to the main thread, which reports it
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                return
            if self.times is not None:
                self.times.add("inference", segmented - start)
                self.times.add("matte", done - segmented)
                self.times.count("inference calls")
            with self._cond:
                self.calls += 1
                self.inference_seconds = done - start
                self._latest = matte
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
    """The main loop for a live source, built on a :class:`~bgblur.pipeline.Pipeline`'s parts."""

    def __init__(self, pipeline: Pipeline, *, sync: bool = False) -> None:
        self.pipeline = pipeline
        self.sync = sync
        self.warper = MatteWarper()
        self.pacer = OutputPacer(pipeline.source.fps or 30.0)
        self.frame_interval = 1.0 / (pipeline.source.fps or 30.0)

    def _needs_matte(self) -> bool:
        return self.pipeline.controls.privacy or self.pipeline.matte_output is not None

    def _matte_for(self, frame: Frame, matte: Matte | None) -> np.ndarray:
        """The newest matte moved onto ``frame`` (all-room before the first matte: the whole frame is blurred)."""
        if matte is None:
            return np.zeros(frame.image.shape[:2], np.uint8)
        if matte.frame_index == frame.index:
            return matte.alpha
        return self.warper.warp(matte.alpha, matte.flow_image, flow_image(frame.image))

    def _show(self, frame: Frame, matte: Matte | None) -> None:
        p = self.pipeline
        times = p.times
        start = time.perf_counter()
        alpha = self._matte_for(frame, matte) if self._needs_matte() else None
        if matte is not None and alpha is not None:
            times.measure("matte age (frames)", frame.index - matte.frame_index)
            times.measure("matte age (ms)", (frame.timestamp - matte.timestamp) * 1000)
        start = p._timed("warp", start)
        result = p.finish(frame, alpha)
        p._timed("composite", start)
        p._emit(frame, result, alpha, repeat=self.pacer.repeats(frame.timestamp))
        times.count("frames shown")
        # Capture to shown; both clocks are time.monotonic (LiveSource, SimulatedCamera).
        times.measure("latency (ms)", (time.monotonic() - frame.timestamp) * 1000)

    def _read(self) -> Frame | None:
        start = time.perf_counter()
        frame = self.pipeline.source.read()
        if frame is not None:
            self.pipeline._timed("capture", start)
        return frame

    def run(self) -> None:
        """Until the source ends or the user quits; the worker is always joined."""
        p = self.pipeline
        threads = cv2.getNumThreads()
        worker = InferenceWorker(p.segmenter, p.matte_maker, p.times)
        # Files are encoded in writer threads while the loop shows the next frame; put back at the end.
        sinks = (p.output, p.matte_output)
        writers = [None if sink is None else ThreadedWriter(sink) for sink in sinks]
        p.output, p.matte_output = writers
        p.times.start()
        try:
            if self.sync:
                self._run_sync(worker)
            else:
                self._run_newest(worker)
        finally:
            worker.close()
            try:
                for writer in writers:
                    if writer is not None:
                        writer.finish()
            finally:
                p.output, p.matte_output = sinks
                cv2.setNumThreads(threads)
                p.times.stop()
                p.times.count("frames skipped by inference", worker.skipped)

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
        self._cores_shared = False
        while not self.pipeline.controls.stop:
            frame = self._read()
            if frame is None:
                return
            matte = None
            if self._needs_matte():
                self._share_cores(worker)
                worker.offer(frame)
                matte = worker.latest()
                # A fast model's own matte arrives well within the frame interval: wait for it.
                if matte is not None and worker.inference_seconds < WAIT_FOR_OWN_MATTE * self.frame_interval:
                    matte = worker.wait_for(frame.index, timeout=self.frame_interval) or matte
            self._show(frame, matte)

    def _run_sync(self, worker: InferenceWorker) -> None:
        frame = self._read()
        offered = False
        while frame is not None and not self.pipeline.controls.stop:
            matte = None
            if self._needs_matte():
                if not offered:
                    worker.offer(frame)
                matte = worker.wait_for(frame.index)
                if matte is None or matte.frame_index != frame.index:
                    return  # the worker stopped
            # Take the next frame now, so its inference overlaps this frame's compositing and output.
            following = self._read()
            offered = following is not None and self._needs_matte()
            if offered:
                worker.offer(following)
            self._show(frame, matte)
            frame = following
