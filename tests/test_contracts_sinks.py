"""One contract, every sink: a file appears complete only on ``close()`` (never half-written under its name),
``close()`` twice is safe, and a write after close — or after the sink failed — fails clearly."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
import pytest
from harness import processes

from bgblur.errors import BgblurError
from bgblur.sinks import SinkGroup
from bgblur.sinks.files import ImageFileSink, VideoFileSink, partial_path
from bgblur.sinks.threaded import ThreadedWriter
from bgblur.sinks.vcam import VirtualCameraSink

SIZE = (64, 48)
FRAMES = 5


class MemoryBackend:
    """pyvirtualcam's backend interface, keeping the frames its real ``Camera`` sends (no loopback device here)."""

    sent: ClassVar[list[np.ndarray]] = []

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **_: object) -> None:
        self._device = device or "memory"

    def send(self, frame: np.ndarray) -> None:
        MemoryBackend.sent.append(frame.copy())

    def close(self) -> None:
        pass

    def device(self) -> str:
        return self._device

    def native_fourcc(self) -> None:
        return None


@pytest.fixture(scope="module")
def memory_camera() -> None:
    import pyvirtualcam  # the dev extra installs it: missing, the test fails rather than skips

    with contextlib.suppress(Exception):  # registered once per process
        pyvirtualcam.register_backend("memory", MemoryBackend)


def picture(index: int, grey: bool = False) -> np.ndarray:
    image = np.full((SIZE[1], SIZE[0], 3), 40 * index % 256, np.uint8)
    return image[..., 0].copy() if grey else image


SINKS: dict[str, tuple[Callable[[Path], object], list[str], bool]] = {
    # name: (make(folder), files it publishes, writes grey pictures)
    "video file": (lambda d: VideoFileSink(d / "out.mp4", 24, SIZE), ["out.mp4"], False),
    "matte video": (lambda d: VideoFileSink(d / "matte.avi", 24, SIZE, gray=True), ["matte.avi"], True),
    "image file": (lambda d: ImageFileSink(d / "out.png"), ["out.png"], False),
    "group": (
        lambda d: SinkGroup([VideoFileSink(d / "a.mp4", 24, SIZE), ImageFileSink(d / "b.png")]),
        ["a.mp4", "b.png"],
        False,
    ),
    "threaded writer": (lambda d: ThreadedWriter(VideoFileSink(d / "t.mp4", 24, SIZE)), ["t.mp4"], False),
    "virtual camera": (lambda d: VirtualCameraSink(SIZE, 30.0, "memory-cam"), [], False),
}


@pytest.fixture(params=sorted(SINKS))
def sink(request, tmp_path: Path, memory_camera):
    make, files, grey = SINKS[request.param]
    opened = make(tmp_path)  # the virtual camera: no loopback device here, so pyvirtualcam falls to "memory"
    yield request.param, opened, [tmp_path / f for f in files], grey
    opened.close()


def test_files_appear_complete_only_on_close(sink) -> None:
    name, opened, files, grey = sink
    MemoryBackend.sent.clear()
    for index in range(FRAMES):
        opened.write(picture(index, grey))
    for path in files:
        assert not path.exists(), f"{name}: {path.name} visible before close"
    if name == "virtual camera":  # it sends the newest frame at its own steady rate: give it a few periods
        processes.wait_until(lambda: opened.frames >= 2, 2.0, 0.01, "frames sent")
    opened.close()
    for path in files:
        assert path.is_file() and not partial_path(path).exists(), name
        if path.suffix in (".mp4", ".avi"):
            capture = cv2.VideoCapture(str(path))
            assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES, name
            capture.release()
        else:
            assert cv2.imread(str(path)).shape == (SIZE[1], SIZE[0], 3), name
    if name == "virtual camera":
        last = picture(FRAMES - 1)  # the newest frame is what the call app sees (pyvirtualcam hands it on flat)
        assert MemoryBackend.sent and np.array_equal(MemoryBackend.sent[-1].reshape(last.shape), last)


def test_close_twice_is_safe(sink) -> None:
    name, opened, files, grey = sink
    opened.write(picture(1, grey))
    opened.close()
    opened.close()
    assert all(path.is_file() for path in files), name


def test_a_write_after_close_fails_clearly(sink) -> None:
    _, opened, _, grey = sink
    opened.write(picture(1, grey))
    opened.close()
    with pytest.raises(BgblurError, match="after it was closed"):
        opened.write(picture(2, grey))


class FailingSink:
    """A sink whose disk fills up on the third frame."""

    def __init__(self) -> None:
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        if self.frames == 2:
            raise BgblurError("the disk is full")
        self.frames += 1

    def close(self) -> None:
        pass


@pytest.mark.parametrize("wrap", [ThreadedWriter, lambda inner: SinkGroup([inner])], ids=["threaded", "group"])
def test_a_write_after_a_failure_fails_clearly(wrap) -> None:
    wrapped = wrap(FailingSink())
    with pytest.raises(BgblurError, match="disk is full"):  # the threaded writer reports it on a later call
        for index in range(50):
            wrapped.write(picture(index))
    with pytest.raises(BgblurError, match="disk is full"):
        wrapped.write(picture(0))
    if isinstance(wrapped, ThreadedWriter):  # the failure also ends the writer's close, after closing the sink
        with pytest.raises(BgblurError, match="disk is full"):
            wrapped.close()
