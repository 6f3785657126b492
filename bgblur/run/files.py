"""The loop for pictures and video files: every frame, in order, the model a few frames ahead.

Videos are decoded, segmented and matted a few frames ahead, each in a thread of its own (every frame, in order),
so the model and the matte step work on the next frames while this one is composited and written. With the model
and the matte step in one thread, that thread was the slowest (14 of a 720p frame's 25 ms of CPU): the run went at
its pace with a core a third idle. A still picture is analysed once and, with a window or a virtual camera, stays
up until the user quits.
"""

from __future__ import annotations

import time

from bgblur.frames import Frame, Matte
from bgblur.run.pipeline import Pipeline
from bgblur.run.stats import StageTimes
from bgblur.sources import Source
from bgblur.sources.prefetch import PrefetchSource

STILL_REFRESH = 0.03  # s between redraws of a still picture (keys stay responsive)


def progress_bar(total: int | None, enabled: bool = True):
    """The progress bar on stderr: tqdm's default layout (frames done/total, elapsed<ETA, frames/s), shown only on
    a terminal (disable=None) and only when the work takes over half a second."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="frame",
        desc="bgblur",
        dynamic_ncols=True,
        disable=None if enabled else True,
        leave=False,
        delay=0.5,
    )


class TimedSource(Source):
    """Another source whose reads are timed as the "capture" stage, in whichever thread reads it."""

    def __init__(self, inner: Source, times: StageTimes) -> None:
        self.inner = inner
        self.info = inner.info
        self.times = times

    def read(self) -> Frame | None:
        start = time.perf_counter()
        frame = self.inner.read()
        if frame is not None:
            self.times.lap("capture", start)
        return frame

    def close(self) -> None:
        self.inner.close()


class PlaybackClock:
    """Holds each frame back until its time at ``fps``, as a player does. Never skips: a frame that is late is
    delivered at once, and one late by more than a frame interval restarts the clock, so a stall is not followed
    by a burst of frames."""

    def __init__(self, fps: float) -> None:
        self.interval = 1.0 / fps
        self.due: float | None = None

    def wait(self) -> float:
        """Sleep until the next frame is due; returns the seconds slept."""
        now = time.perf_counter()
        if self.due is None or now > self.due + self.interval:
            self.due = now
        slept = max(0.0, self.due - now)
        if slept:
            time.sleep(slept)
        self.due += self.interval
        return slept


def run_file(
    pipeline: Pipeline, source: Source, *, progress: bool = True, hold_still: bool = False, pace: bool = False
) -> None:
    """Every frame of ``source`` through ``pipeline``, until it ends or the user quits. ``hold_still``: keep a
    still picture going after it was delivered (for a virtual camera) even without a window. ``pace``: a video
    is delivered at its own frame rate (the stage times and the window's frames/s still measure processing:
    the waits are left out of them)."""
    bar = progress_bar(source.frame_count, progress)
    controls = pipeline.controls
    reader = TimedSource(source, pipeline.times)
    stages: list[PrefetchSource] = []
    if not source.info.still:  # decode, the model, the matte step: each in its thread, a few frames ahead
        stages.append(PrefetchSource(reader))
        stages.append(PrefetchSource(stages[-1], prepare=pipeline.segment, name="model"))
        stages.append(PrefetchSource(stages[-1], prepare=pipeline.make_matte, name="matte"))
    prefetch = stages[-1] if stages else None
    last: tuple[Frame, Matte | None] | None = None
    fps = source.info.fps
    clock = PlaybackClock(fps) if pace and not source.info.still and fps and fps > 0 else None
    window = pipeline.outputs.window
    pipeline.times.start()
    try:
        while not controls.stop:
            if prefetch is not None:
                item = prefetch.read_prepared()
            else:
                frame = reader.read()
                item = None if frame is None else (frame, pipeline.analyse(frame))
            if item is None:
                break
            frame, matte = last = item  # type: ignore[assignment]
            if clock is not None:
                slept = clock.wait()
                if window is not None:
                    window.fps_meter.idle(slept)
            pipeline.step(frame, matte)
            bar.update(1)
    finally:
        pipeline.times.stop()
        for stage in reversed(stages):  # the last first: it may be waiting on the one before
            stage.stop()
        bar.close()
    # A still picture stays on screen (and on the virtual camera, which repeats the last frame) until the user quits;
    # keys still apply to it, redoing only the effect: the model's answer for the picture is kept.
    while source.info.still and last is not None and (window is not None or hold_still) and not controls.stop:
        if window is not None:
            frame, matte = last
            pipeline.step(frame, matte, repeat=0)
        time.sleep(STILL_REFRESH)
