"""The live loop: inference in a worker (one in flight, newest frame), the newest matte carried onto each shown
frame, ``--sync`` pairing, output pacing. (The flow warp: matte/test_flow.py; the CLI runs: e2e/test_live_cli.py.)"""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest
from util import MemorySink

from bgblur.effects.blur import BlurBackground
from bgblur.frames import Frame
from bgblur.matte import MatteMaker
from bgblur.run import Outputs, Pipeline, run_pipeline
from bgblur.run.live import InferenceWorker, OutputPacer
from bgblur.segmenters.base import Segmenter
from bgblur.sources.simulated import SimulatedCamera

SIZE = (96, 64)  # width, height: small pictures keep these tests fast


def tagged_image(index: int) -> np.ndarray:
    """A flat picture whose grey level says which frame it is (index < 128)."""
    return np.full((SIZE[1], SIZE[0], 3), 2 * index, np.uint8)


def tag_of(image: np.ndarray) -> int:
    return round(float(np.median(image)) / 2)


class SlowSegmenter(Segmenter):
    """A real segmenter that sleeps, records which frames it saw and how many calls overlapped.

    Its matte is a vertical band whose position encodes the frame's tag, so a matte can be matched to its frame.
    """

    name = "slow"
    default_threshold = 0.5

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.seen: list[int] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def segment(self, image: np.ndarray) -> np.ndarray:
        tag = tag_of(image)
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.seen.append(tag)
        time.sleep(self.seconds)
        with self._lock:
            self.in_flight -= 1
        return band_matte(image.shape[:2], tag)


def band_matte(shape: tuple[int, int], tag: int) -> np.ndarray:
    matte = np.zeros(shape, np.float32)
    x = band_position(tag)
    matte[:, x : x + 4] = 1.0
    return matte


def band_position(tag: int) -> int:
    return (tag * 3) % (SIZE[0] - 4)


def analyse_with(segmenter: SlowSegmenter):
    """The pipeline's model + matte step for ``segmenter``: what the live loop hands its inference worker."""
    return Pipeline(segmenter, MatteMaker(0.5), BlurBackground(5)).analyse


def test_worker_runs_one_inference_at_a_time_on_the_newest_frame() -> None:
    segmenter = SlowSegmenter(0.03)
    worker = InferenceWorker(analyse_with(segmenter))
    offered = 60
    try:
        for index in range(offered):
            worker.offer(Frame(tagged_image(index), index, index / 200))
            time.sleep(0.005)
        last = worker.wait_for(offered - 1, timeout=5)
    finally:
        worker.close()
    assert segmenter.max_in_flight == 1
    assert segmenter.seen == sorted(set(segmenter.seen)), "a frame was segmented twice or out of order"
    assert worker.skipped > offered / 2, "a busy worker must skip stale frames"
    assert worker.calls + worker.skipped == offered
    assert last is not None and last[0].index == offered - 1  # the newest frame is always segmented in the end


class GatedSegmenter(SlowSegmenter):
    """Each inference starts, then waits until the test lets it finish: the worker's state is known at every step."""

    def __init__(self) -> None:
        super().__init__(0.0)
        self.started = threading.Semaphore(0)
        self.release = threading.Semaphore(0)

    def segment(self, image: np.ndarray) -> np.ndarray:
        self.started.release()
        assert self.release.acquire(timeout=5)
        return super().segment(image)


def test_busy_worker_takes_the_newest_frame_and_skips_the_stale_ones() -> None:
    segmenter = GatedSegmenter()
    worker = InferenceWorker(analyse_with(segmenter))

    def offer(*indices: int) -> None:
        for index in indices:
            worker.offer(Frame(tagged_image(index), index, index / 30))

    try:
        offer(0)
        assert segmenter.started.acquire(timeout=5)  # 0 in flight
        offer(1, 2, 3)  # arrive while busy: 1 and 2 go stale
        segmenter.release.release()
        assert segmenter.started.acquire(timeout=5)  # 3 in flight
        assert worker.wait_for(0, timeout=5)[0].index == 0
        offer(4, 5)
        segmenter.release.release()
        assert segmenter.started.acquire(timeout=5)  # 5 in flight
        segmenter.release.release()
        assert worker.wait_for(5, timeout=5)[0].index == 5
    finally:
        segmenter.release.release()
        worker.close()
    assert segmenter.seen == [0, 3, 5]
    assert worker.skipped == 3 and worker.calls == 3


def test_worker_error_reaches_the_main_thread() -> None:
    class Broken(SlowSegmenter):
        def segment(self, image: np.ndarray) -> np.ndarray:
            raise RuntimeError("model fell over")

    worker = InferenceWorker(analyse_with(Broken(0)))
    try:
        worker.offer(Frame(tagged_image(0), 0, 0.0))
        with pytest.raises(RuntimeError, match="fell over"):
            worker.wait_for(0, timeout=5)
    finally:
        worker.close()


def run_live(camera: SimulatedCamera, segmenter: SlowSegmenter, sync: bool) -> tuple[Pipeline, MemorySink, MemorySink]:
    """``camera`` through a pipeline with ``segmenter``, in the live loop; the pipeline and what it wrote."""
    output, matte_output = MemorySink(), MemorySink()
    pipeline = Pipeline(
        segmenter,
        MatteMaker(0.5, refine=False, temporal=False),  # exact edges: the test reads the band position
        BlurBackground(5),
        Outputs(result=output, matte=matte_output),
    )
    run_pipeline(pipeline, camera, progress=False, sync=sync)
    return pipeline, output, matte_output


def test_live_loop_shows_frames_at_camera_rate_with_a_slow_model() -> None:
    camera = SimulatedCamera([tagged_image(i) for i in range(60)], fps=60, frame_limit=60)
    segmenter = SlowSegmenter(0.05)  # 3 camera frames per inference
    threads, cv2_threads = threading.active_count(), cv2.getNumThreads()
    pipeline, output, _ = run_live(camera, segmenter, sync=False)
    assert threading.active_count() == threads  # the worker is joined
    assert cv2.getNumThreads() == cv2_threads  # and OpenCV's thread count given back
    shown = pipeline.times.counts["frames shown"]
    assert segmenter.max_in_flight == 1
    assert segmenter.seen == sorted(set(segmenter.seen))
    assert shown > 2 * len(segmenter.seen), (shown, len(segmenter.seen))  # display did not wait for the model
    ages = pipeline.times.measures["matte age (frames)"]
    assert max(ages) >= 2 and min(ages) >= 0
    assert len(output.images) >= shown  # every shown frame written (more when the camera's frames were dropped)
    assert "matte age" in pipeline.times.summary()


@pytest.mark.parametrize("sync", [True, False])
def test_sync_output_frames_pair_with_their_own_matte(sync: bool) -> None:
    camera = SimulatedCamera([tagged_image(i) for i in range(40)], fps=60, frame_limit=40)
    segmenter = SlowSegmenter(0.04)
    pipeline, output, matte_output = run_live(camera, segmenter, sync=sync)
    assert len(output.images) == len(matte_output.images) > 3
    paired = [
        int(np.argmax(matte[0] > 127)) == band_position(tag_of(result))
        for result, matte in zip(output.images, matte_output.images, strict=True)
    ]
    if sync:
        assert all(paired)
        assert pipeline.times.counts["frames shown"] == len(segmenter.seen)  # every shown frame was segmented
    else:
        assert not all(paired)  # without --sync the newest matte is older than the frame: the check has teeth


def test_fast_model_frames_are_shown_with_their_own_matte() -> None:
    camera = SimulatedCamera([tagged_image(i) for i in range(30)], fps=30, frame_limit=30)
    segmenter = SlowSegmenter(0.002)
    pipeline, _, _ = run_live(camera, segmenter, sync=False)
    ages = pipeline.times.measures["matte age (frames)"]
    assert np.median(ages) == 0  # waiting a few ms for a fast model's own matte beats warping an old one


def test_output_pacer_holds_a_frame_for_the_frames_that_were_dropped() -> None:
    pacer = OutputPacer(30.0)
    times = [0.0, 1 / 30, 3 / 30, 4 / 30, 4.2 / 30, 8 / 30]
    assert [pacer.repeats(t) for t in times] == [1, 1, 2, 1, 1, 3]
