"""One contract, every source (as PySceneDetect runs one test class over every video backend): indexes rise, the
end of the stream is explicit and repeats, ``close()`` twice is safe, and the metadata says what the frames are."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest
from harness import streams

from bgblur.sources import Source, open_source
from bgblur.sources.files import ImageSource, VideoFileSource
from bgblur.sources.live import LiveSource
from bgblur.sources.prefetch import PrefetchSource
from bgblur.sources.simulated import SimulatedCamera

FRAMES = 12  # frames read from each source


def short_video(path: Path, clip: Path, frames: int = FRAMES) -> Path:
    """The first ``frames`` frames of ``clip`` as an MJPG .avi (exact frame count, quick to decode)."""
    capture = cv2.VideoCapture(str(clip))
    writer = None
    for _ in range(frames):
        ok, image = capture.read()
        assert ok
        if writer is None:
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 24, (image.shape[1], image.shape[0]))
        writer.write(image)
    capture.release()
    writer.release()
    return path


@contextmanager
def image_source(testdata: Path, tmp_path: Path) -> Iterator[Source]:
    yield open_source(str(testdata / "images" / "davis_tennis_f030.jpg"))


@contextmanager
def video_source(testdata: Path, tmp_path: Path) -> Iterator[Source]:
    yield open_source(str(short_video(tmp_path / "clip.avi", testdata / "videos" / "davis_hike.mp4")))


@contextmanager
def prefetched_video(testdata: Path, tmp_path: Path) -> Iterator[Source]:
    inner = VideoFileSource(short_video(tmp_path / "clip.avi", testdata / "videos" / "davis_hike.mp4"))
    yield PrefetchSource(inner, prepare=lambda frame: frame.image.mean())


@contextmanager
def simulated_camera(testdata: Path, tmp_path: Path) -> Iterator[Source]:
    image = cv2.imread(str(testdata / "images" / "davis_tennis_f030.jpg"))
    yield SimulatedCamera([image, cv2.flip(image, 1)], fps=60, frame_limit=FRAMES)


@contextmanager
def live_stream(testdata: Path, tmp_path: Path) -> Iterator[Source]:
    with streams.LiveStream(testdata / "videos" / "davis_hike.mp4", size=(320, 180), fps=30) as camera:
        yield open_source(camera.url, open_timeout=10, read_timeout=5, reconnect_for=0.5)


SOURCES: dict[str, Callable[[Path, Path], contextmanager]] = {
    "image": image_source,
    "video file": video_source,
    "prefetched video": prefetched_video,
    "simulated camera": simulated_camera,
    "live stream": live_stream,
}
KINDS = {
    "image": ImageSource,
    "video file": VideoFileSource,
    "prefetched video": PrefetchSource,
    "simulated camera": SimulatedCamera,
    "live stream": LiveSource,
}


@pytest.fixture(params=sorted(SOURCES))
def source(request, testdata: Path, tmp_path: Path) -> Iterator[tuple[str, Source]]:
    with SOURCES[request.param](testdata, tmp_path) as opened:
        try:
            yield request.param, opened
        finally:
            opened.close()


def read_some(source: Source, limit: int = FRAMES) -> list:
    frames = []
    while len(frames) < limit and (frame := source.read()) is not None:
        frames.append(frame)
    return frames


def test_it_is_the_source_open_source_promises(source) -> None:
    name, opened = source
    assert isinstance(opened, KINDS[name])


def test_frames_are_bgr_pictures_of_the_announced_size_with_rising_indexes(source) -> None:
    name, opened = source
    frames = read_some(opened)
    assert frames, name
    width, height = opened.info.size
    for frame in frames:
        assert frame.image.dtype == np.uint8 and frame.image.shape == (height, width, 3), name
    indexes = [frame.index for frame in frames]
    assert indexes == sorted(set(indexes)), f"{name}: indexes {indexes} do not rise"
    stamps = [frame.timestamp for frame in frames]
    assert stamps == sorted(stamps), f"{name}: capture times go back"


def test_metadata_matches_the_stream(source) -> None:
    name, opened = source
    info = opened.info
    assert info.description and info.size[0] > 0 and info.size[1] > 0
    assert info.is_live == (name in ("simulated camera", "live stream"))
    if name == "image":
        assert info.still and info.frame_count == 1 and info.path is not None
    elif name in ("video file", "prefetched video"):
        assert not info.still and info.frame_count == FRAMES and info.fps == pytest.approx(24, abs=0.01)
        assert info.path is not None  # where the sound would come from
    else:
        assert info.fps > 0 and info.frame_count is None and info.path is None


def test_the_end_is_explicit_and_repeats(source) -> None:
    name, opened = source
    frames = read_some(opened, limit=10_000 if name != "live stream" else FRAMES)
    if name == "live stream":  # a live stream has no end of its own: closing it ends it
        opened.close()
    else:
        assert len(frames) == (1 if name == "image" else FRAMES), name
    assert opened.read() is None
    assert opened.read() is None


def test_close_twice_is_safe_and_ends_the_stream(source) -> None:
    name, opened = source  # (the fixture closes it a third time)
    read_some(opened, 2)
    opened.close()
    opened.close()
    assert opened.read() is None, name
