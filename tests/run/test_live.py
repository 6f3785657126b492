"""The live path: inference in a worker (one in flight, newest frame), mattes carried along the motion,
``--sync`` pairing, output pacing, and file mode still processing every frame."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import harness as h
import numpy as np
import pytest
from util import MemorySink, bgblur_env, read_video, run_bgblur

from bgblur.effects import BlurBackground
from bgblur.flow import MatteWarper, flow_image
from bgblur.live import InferenceWorker, OutputPacer
from bgblur.matte import MatteMaker
from bgblur.pipeline import Pipeline
from bgblur.simulated import SimulatedCamera
from bgblur.sources import Frame

SIZE = (96, 64)  # width, height: small pictures keep these tests fast


def tagged_image(index: int) -> np.ndarray:
    """A flat picture whose grey level says which frame it is (index < 128)."""
    return np.full((SIZE[1], SIZE[0], 3), 2 * index, np.uint8)


def tag_of(image: np.ndarray) -> int:
    return round(float(np.median(image)) / 2)


class SlowSegmenter:
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


def test_worker_runs_one_inference_at_a_time_on_the_newest_frame() -> None:
    segmenter = SlowSegmenter(0.03)
    worker = InferenceWorker(segmenter, MatteMaker(0.5))
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
    assert last is not None and last.frame_index == offered - 1  # the newest frame is always segmented in the end


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
    worker = InferenceWorker(segmenter, MatteMaker(0.5))

    def offer(*indices: int) -> None:
        for index in indices:
            worker.offer(Frame(tagged_image(index), index, index / 30))

    try:
        offer(0)
        assert segmenter.started.acquire(timeout=5)  # 0 in flight
        offer(1, 2, 3)  # arrive while busy: 1 and 2 go stale
        segmenter.release.release()
        assert segmenter.started.acquire(timeout=5)  # 3 in flight
        assert worker.wait_for(0, timeout=5).frame_index == 0
        offer(4, 5)
        segmenter.release.release()
        assert segmenter.started.acquire(timeout=5)  # 5 in flight
        segmenter.release.release()
        assert worker.wait_for(5, timeout=5).frame_index == 5
    finally:
        segmenter.release.release()
        worker.close()
    assert segmenter.seen == [0, 3, 5]
    assert worker.skipped == 3 and worker.calls == 3


def test_worker_error_reaches_the_main_thread() -> None:
    class Broken(SlowSegmenter):
        def segment(self, image: np.ndarray) -> np.ndarray:
            raise RuntimeError("model fell over")

    worker = InferenceWorker(Broken(0), MatteMaker(0.5))
    try:
        worker.offer(Frame(tagged_image(0), 0, 0.0))
        with pytest.raises(RuntimeError, match="fell over"):
            worker.wait_for(0, timeout=5)
    finally:
        worker.close()


def moving_square(offset: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A textured square on a textured room (both smooth enough for flow), and its matte, shifted by ``offset``."""
    rng = np.random.default_rng(7)
    h, w = 360, 640
    room = cv2.GaussianBlur(
        cv2.resize(rng.integers(0, 255, (9, 16, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC), (0, 0), 4
    )
    texture = cv2.GaussianBlur(
        cv2.resize(rng.integers(0, 255, (5, 5, 3), dtype=np.uint8), (120, 120), interpolation=cv2.INTER_CUBIC),
        (0, 0),
        3,
    )
    x, y = 260 + offset[0], 120 + offset[1]
    image = room.copy()
    image[y : y + 120, x : x + 120] = texture
    matte = np.zeros((h, w), np.float32)
    matte[y : y + 120, x : x + 120] = 1.0
    return image, matte


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a > 0.5) & (b > 0.5)).sum() / ((a > 0.5) | (b > 0.5)).sum())


def centroid(matte: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(matte > 0.5)
    return np.array([xs.mean(), ys.mean()])


@pytest.mark.parametrize("shift", [(16, 0), (-12, 8), (0, -14)])
def test_matte_is_warped_onto_the_moved_square(shift: tuple[int, int]) -> None:
    before, matte_before = moving_square((0, 0))
    after, matte_after = moving_square(shift)
    warper = MatteWarper()
    warped = warper.warp(matte_before, flow_image(before), flow_image(after))
    backwards = warper.warp(matte_before, flow_image(after), flow_image(before))
    assert iou(warped, matte_after) > iou(matte_before, matte_after) + 0.05
    assert iou(warped, matte_after) > iou(backwards, matte_after) + 0.1
    moved = centroid(warped) - centroid(matte_before)
    assert np.dot(moved, shift) / np.dot(shift, shift) > 0.6, moved  # most of the way, in the right direction


def test_warp_keeps_a_still_matte_and_its_type() -> None:
    image, matte = moving_square((0, 0))
    small = flow_image(image)
    warped = MatteWarper().warp(matte, small, small.copy())
    assert warped.shape == matte.shape and warped.dtype == np.float32
    assert iou(warped, matte) > 0.97


def live_pipeline(
    camera: SimulatedCamera, segmenter: SlowSegmenter, sync: bool
) -> tuple[Pipeline, MemorySink, MemorySink]:
    output, matte_output = MemorySink(), MemorySink()
    pipeline = Pipeline(
        camera,
        segmenter,
        MatteMaker(0.5, refine=False, temporal=False),  # exact edges: the test reads the band position
        BlurBackground(5),
        output=output,
        matte_output=matte_output,
        progress=False,
        sync=sync,
    )
    return pipeline, output, matte_output


def test_live_loop_shows_frames_at_camera_rate_with_a_slow_model() -> None:
    camera = SimulatedCamera([tagged_image(i) for i in range(60)], fps=60, frame_limit=60)
    segmenter = SlowSegmenter(0.05)  # 3 camera frames per inference
    pipeline, output, _ = live_pipeline(camera, segmenter, sync=False)
    threads, cv2_threads = threading.active_count(), cv2.getNumThreads()
    pipeline.run()
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
    pipeline, output, matte_output = live_pipeline(camera, segmenter, sync=sync)
    pipeline.run()
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
    pipeline, _, _ = live_pipeline(camera, segmenter, sync=False)
    pipeline.run()
    ages = pipeline.times.measures["matte age (frames)"]
    assert np.median(ages) == 0  # waiting a few ms for a fast model's own matte beats warping an old one


def test_output_pacer_holds_a_frame_for_the_frames_that_were_dropped() -> None:
    pacer = OutputPacer(30.0)
    times = [0.0, 1 / 30, 3 / 30, 4 / 30, 4.2 / 30, 8 / 30]
    assert [pacer.repeats(t) for t in times] == [1, 1, 2, 1, 1, 3]


def test_file_mode_drops_nothing(testdata: Path, tmp_path: Path) -> None:
    clip = testdata / "videos" / "davis_hike.mp4"
    out = tmp_path / "out.mp4"
    result = run_bgblur("--source", clip, "--output", out, "--no-window", "--quiet", "--stats")
    assert result.returncode == 0, result.stderr
    assert len(read_video(out)) == len(read_video(clip)) == 80
    assert "inference calls: 80" in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--visualize"],  # the matte overlay, drawn from the live path's 8-bit mattes
        ["--background", "green", "--light-wrap"],
    ],
)
def test_live_stream_through_the_cli_writes_what_it_shows(extra: list[str], tmp_path: Path) -> None:
    out, matte = tmp_path / "live.mp4", tmp_path / "matte.mp4"
    with h.LiveStream(None, size=(320, 240), fps=30) as stream:
        app = subprocess.Popen(
            [sys.executable, "-m", "bgblur", "--source", stream.url, "--output", str(out), "--matte", str(matte)]
            + ["--no-window", "--quiet", "--stats", *extra],
            env=bgblur_env(),
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        try:
            time.sleep(4)
            app.send_signal(signal.SIGTERM)
            _, stderr = app.communicate(timeout=20)
        finally:
            h.stop_process(app)
    assert app.returncode == 0, stderr
    shown = int(stderr.split("frames shown: ")[1].split()[0])
    assert shown > 30
    frames = read_video(out)
    assert len(frames) >= shown and len(read_video(matte)) == len(frames)
    assert "matte age (frames)" in stderr and "inference calls" in stderr
