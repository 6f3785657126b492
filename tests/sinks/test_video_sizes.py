"""Video files keep the exact size of their frames, odd ones included (OpenCV's own FFmpeg writer would drop the
last column and row: 853x479 came out 852x478)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from bgblur.errors import BgblurError
from bgblur.sinks.files import VideoFileSink

ODD = (853, 479)


def gradient(size: tuple[int, int], index: int) -> np.ndarray:
    """A picture whose every column and row differ, so a crop, a shift or a scale shows in the pixels."""
    width, height = size
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    image = np.stack([np.broadcast_to(x, (height, width)), np.broadcast_to(y, (height, width))], axis=2)
    return np.dstack([image, np.full((height, width, 1), 20 * index, np.float32)]).astype(np.uint8)


@pytest.mark.parametrize(("name", "gray"), [("out.mp4", False), ("out.avi", False), ("out.mkv", False),
                                            ("out.mov", False), ("matte.mp4", True), ("matte.avi", True)])  # fmt: skip
def test_an_odd_size_is_kept_exactly(tmp_path: Path, name: str, gray: bool) -> None:
    path = tmp_path / name
    sink = VideoFileSink(path, 24, ODD, gray=gray)
    frames = [gradient(ODD, i) for i in range(12)]
    for frame in frames:
        sink.write(frame[..., 0].copy() if gray else frame)
    sink.close()
    capture = cv2.VideoCapture(str(path))
    back = []
    while (read := capture.read())[0]:
        back.append(read[1])
    capture.release()
    assert len(back) == len(frames)
    for written, read in zip(frames, back, strict=True):
        assert read.shape == (ODD[1], ODD[0], 3)
        expected = cv2.cvtColor(written[..., 0], cv2.COLOR_GRAY2BGR) if gray else written
        assert np.abs(read.astype(np.int16) - expected).mean() < 4  # the codec's loss only: nothing shifted


def test_an_even_size_is_written_as_before(tmp_path: Path) -> None:
    """Even sizes take OpenCV's own mp4v writer, as before: the same bytes as writing with it directly."""
    frames = [gradient((64, 48), i) for i in range(3)]
    sink = VideoFileSink(tmp_path / "sink.mp4", 24, (64, 48))
    direct = cv2.VideoWriter(str(tmp_path / "direct.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 24, (64, 48))
    for frame in frames:
        sink.write(frame)
        direct.write(frame)
    sink.close()
    direct.release()
    assert (tmp_path / "sink.mp4").read_bytes() == (tmp_path / "direct.mp4").read_bytes()


def test_a_frame_of_another_size_is_one_clear_error_and_the_file_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    sink = VideoFileSink(path, 24, ODD)
    sink.write(gradient(ODD, 0))
    with pytest.raises(BgblurError, match="a 852x478 frame"):
        sink.write(gradient((852, 478), 1))  # refused before it reaches ffmpeg, whose stream would be garbled
    sink.write(gradient(ODD, 2))
    sink.close()
    assert len(list(tmp_path.iterdir())) == 1
    capture = cv2.VideoCapture(str(path))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 2
    capture.release()
