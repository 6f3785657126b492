"""One frame's way through the stages — segment → matte → effect → outputs — as one object both loops use.

:meth:`Pipeline.analyse` is the model and the matte step (:meth:`~Pipeline.segment`, then
:meth:`~Pipeline.make_matte`: for files each in a thread of its own, a few frames ahead; for live sources both in the
inference worker); :meth:`Pipeline.step` is the effect and the delivery to the outputs and the window, in the loop's
own thread. Nothing else segments, composites or writes a frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from bgblur.effects import Effect
from bgblur.effects.framing import AutoFramer
from bgblur.frames import Controls, Frame, Matte
from bgblur.imaging import mirrored
from bgblur.matte import MatteMaker
from bgblur.run.stats import StageTimes
from bgblur.segmenters import Segmenter
from bgblur.segmenters.base import Segmentation
from bgblur.sinks import Sink, close_all
from bgblur.sinks.window import WindowSink


@dataclass
class Outputs:
    """Where finished frames go: the result (files, virtual camera), the matte, and the window."""

    result: Sink | None = None
    matte: Sink | None = None
    window: WindowSink | None = None

    def close(self) -> None:
        """Close every output, even when one fails to (the first failure is raised after)."""
        close_all([self.result, self.matte, self.window])


class Pipeline:
    """The stages for one run, the user's :class:`~bgblur.frames.Controls`, and the stage timings.

    ``frame_range``: (first, last) frame index processed, both included (``last`` None: to the end); frames
    outside it are passed on unchanged (``--start-frame``/``--end-frame``). ``framer``: the auto-framing the
    picture and its matte go through before the effect, while ``controls.auto_frame`` is on (``--auto-frame``).
    """

    def __init__(
        self,
        segmenter: Segmenter,
        matte_maker: MatteMaker,
        effect: Effect,
        outputs: Outputs | None = None,
        *,
        controls: Controls | None = None,
        frame_range: tuple[int, int | None] = (0, None),
        times: StageTimes | None = None,
        framer: AutoFramer | None = None,
    ) -> None:
        self.segmenter = segmenter
        self.matte_maker = matte_maker
        self.effect = effect
        self.outputs = outputs or Outputs()
        self.controls = controls or Controls()
        self.frame_range = frame_range
        self.times = times or StageTimes()
        self.framer = framer
        self.frames_out = 0

    def close(self) -> None:
        """Close the outputs (files are published complete), then release the effect."""
        try:
            self.outputs.close()
        finally:
            self.effect.close()

    def in_range(self, frame: Frame) -> bool:
        first, last = self.frame_range
        return first <= frame.index and (last is None or frame.index <= last)

    def needs_matte(self) -> bool:
        """Does anything use the matte now: the effect (privacy on), the matte view (``v``), a matte file or the
        auto-framing."""
        controls = self.controls
        framing = self.framer is not None and controls.auto_frame
        return controls.privacy or controls.show_mask or self.outputs.matte is not None or framing

    def analyse(self, frame: Frame) -> Matte | None:
        """The model and the matte step for ``frame`` (None outside the processed range): the matte with the
        people the matte step counted there. Stateful over time (the matte is smoothed, people are remembered):
        call it from one thread, in frame order."""
        return self.make_matte(frame, self.segment(frame))

    def segment(self, frame: Frame) -> Segmentation | None:
        """The model's look at ``frame`` (None outside the processed range). Stateless: a file's run does it in a
        thread of its own, ahead of :meth:`make_matte`."""
        if not self.in_range(frame):
            return None
        start = time.perf_counter()
        found = self.segmenter.find(frame.image)
        self.times.lap("inference", start)
        self.times.count("inference calls")
        return found

    def make_matte(self, frame: Frame, found: Segmentation | None) -> Matte | None:
        """The matte step on the model's look ``found`` at ``frame`` (None for None): stateful over time, call it
        from one thread, in frame order."""
        if found is None:
            return None
        start = time.perf_counter()
        alpha, people = self.matte_maker.analyse(found.probability, frame.image)
        self.times.lap("matte", start)
        return Matte(alpha, frame.index, frame.timestamp, people=people, detections=found.detections)

    def step(self, frame: Frame, matte: Matte | None, repeat: int = 1) -> None:
        """Make and deliver the picture for ``frame`` with its ``matte`` (computed on it, or carried onto it; None
        when there is none yet: privacy then blurs the whole frame). The effect gets its alpha and the model's
        detections. ``repeat``: write it that many times."""
        start = time.perf_counter()
        image = frame.image
        alpha, detections = (None, ()) if matte is None else (matte.alpha, matte.detections)
        if not self.in_range(frame):
            result, alpha = image, None
        else:
            framer = self.framer
            if framer is not None and (self.controls.auto_frame or not framer.at_rest):
                image, alpha = framer(image, alpha, frame.timestamp, self.controls.auto_frame)
                start = self.times.lap("framing", start)
            if alpha is None and self.needs_matte():  # nobody seen yet: never show the room sharp
                alpha = np.zeros(image.shape[:2], np.uint8)
            result = self.effect(image, alpha, detections) if self.controls.privacy else image
        if self.controls.mirror:
            result, alpha = mirrored(result), mirrored(alpha)
        start = self.times.lap("composite", start)
        self._deliver(frame, result, alpha, repeat, start)

    def _deliver(self, frame: Frame, result: np.ndarray, alpha: np.ndarray | None, repeat: int, start: float) -> None:
        outputs = self.outputs
        matte = alpha
        if outputs.matte is not None and matte is None:  # the matte video keeps every frame: an empty one here
            matte = np.zeros(result.shape[:2], np.uint8)
        for _ in range(repeat):
            if outputs.result is not None:
                outputs.result.write(result)
            if outputs.matte is not None:
                outputs.matte.write(matte)
        if repeat:  # (a still picture redrawn for the window is not a new frame)
            self.frames_out += 1
            self.times.count("frames shown")
        start = self.times.lap("output", start)
        if outputs.window is not None:
            outputs.window.present(result, alpha, self.controls)
            self.times.lap("display", start)
