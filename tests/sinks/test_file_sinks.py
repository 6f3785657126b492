"""The file sinks when the output's folder is moved or deleted during a run: one clear error, never an unexpected
one, and a video stops at the next room check instead of encoding the rest into a deleted file."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from bgblur.errors import BgblurError
from bgblur.sinks.files import ImageFileSink, VideoFileSink

SIZE = (64, 48)


def frame(index: int) -> np.ndarray:
    return np.full((SIZE[1], SIZE[0], 3), 30 * index % 256, np.uint8)


def started_video(tmp_path: Path, frames: int) -> tuple[Path, VideoFileSink]:
    """A video sink in the folder ``out`` of ``tmp_path``, ``frames`` frames written."""
    folder = tmp_path / "out"
    folder.mkdir()
    sink = VideoFileSink(folder / "x.mp4", 24, SIZE)
    for index in range(frames):
        sink.write(frame(index))
    return folder, sink


def test_a_video_whose_folder_is_deleted_stops_at_the_next_check(tmp_path: Path) -> None:
    folder, sink = started_video(tmp_path, 3)
    shutil.rmtree(folder)
    with pytest.raises(BgblurError, match=r"stopped writing video .*x\.mp4 after 8 frames: its folder .*out was moved"):
        for index in range(3, 20):
            sink.write(frame(index))
    with pytest.raises(BgblurError, match=r"cannot finish video .*x\.mp4: its folder .* moved or deleted"):
        sink.close()
    assert not folder.exists()  # nothing recreated behind the user's back


def test_a_video_whose_folder_is_moved_before_close_says_so(tmp_path: Path) -> None:
    folder, sink = started_video(tmp_path, 5)
    folder.rename(tmp_path / "moved")
    with pytest.raises(BgblurError, match=r"cannot finish video .*out/x\.mp4: its folder .*out was moved or deleted"):
        sink.close()
    assert not (tmp_path / "moved" / "x.mp4").exists()


def test_a_picture_whose_folder_is_deleted_before_close_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    sink = ImageFileSink(folder / "x.png")
    sink.write(frame(1))
    shutil.rmtree(folder)
    with pytest.raises(BgblurError, match=r"cannot finish image .*x\.png: its folder .* moved or deleted"):
        sink.close()
