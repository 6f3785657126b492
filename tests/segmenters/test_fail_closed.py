"""A model that fails mid-run: privacy mode blurs those frames whole (never shows the room), reports it once,
and the run goes on — in file mode and live."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from util import MemorySink

from bgblur.effects.blur import BlurBackground, blur
from bgblur.matte import MatteMaker
from bgblur.run import Outputs, Pipeline, run_pipeline
from bgblur.segmenters import create_segmenter
from bgblur.segmenters.base import Segmenter
from bgblur.segmenters.fail_closed import FailClosedSegmenter
from bgblur.sources.files import VideoFileSource
from bgblur.sources.simulated import SimulatedCamera


class FlakyModel(Segmenter):
    """The real selfie model, except that it raises on the frames (calls) it is told to."""

    name = "flaky"
    default_threshold = 0.5

    def __init__(self, failing: range) -> None:
        self.model = create_segmenter("selfie")
        self.failing = failing
        self.calls = 0

    def segment(self, image: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.calls - 1 in self.failing:
            raise RuntimeError("out of memory in the model")
        return self.model.segment(image)


def whole_blur_error(output: np.ndarray, frame: np.ndarray) -> float:
    return float(np.abs(output.astype(int) - blur(frame, 41)).mean())


def test_file_run_blurs_failed_frames_whole_and_reports_once(testdata: Path, capfd: pytest.CaptureFixture) -> None:
    clip = testdata / "videos" / "davis_hike.mp4"
    guarded = FailClosedSegmenter(FlakyModel(range(10, 20)))
    output = MemorySink()
    with VideoFileSource(clip) as source:
        run_pipeline(
            Pipeline(guarded, MatteMaker(0.5), BlurBackground(41), Outputs(result=output)), source, progress=False
        )
    with VideoFileSource(clip) as source:
        frames = [source.read().image for _ in range(80)]
    assert len(output.images) == 80 and guarded.failures == 10 and guarded.calls == 80
    errors = [whole_blur_error(out, frame) for out, frame in zip(output.images, frames, strict=True)]
    assert max(errors[10:20]) < 0.5  # failed frames: the whole frame blurred, the hiker too
    assert min(errors[:10] + errors[20:]) > 1.0  # the others keep the hiker sharp (errors 1.4..2.3)
    err = capfd.readouterr().err
    assert err.count("bgblur: warning: the model failed on a frame (RuntimeError: out of memory") == 1


def test_live_run_keeps_going_blurred_while_the_model_fails(testdata: Path) -> None:
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(4)]
    camera = SimulatedCamera(images * 10, fps=60, frame_limit=40)
    guarded = FailClosedSegmenter(FlakyModel(range(0, 10_000)))  # fails on every frame
    output = MemorySink()
    run_pipeline(Pipeline(guarded, MatteMaker(0.5), BlurBackground(41), Outputs(result=output)), camera, progress=False)
    assert guarded.failures == guarded.calls > 0
    assert len(output.images) >= 20
    for image in output.images:
        assert min(whole_blur_error(image, frame) for frame in images) < 0.5
