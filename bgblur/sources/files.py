"""Files as sources: one picture, or a video read frame by frame (every frame, in order, none dropped)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from bgblur.errors import BgblurError, warn
from bgblur.frames import Frame, StreamInfo
from bgblur.native import captured_native_output
from bgblur.sources.base import Source


class ImageSource(Source):
    """A single picture, read as 8-bit BGR whatever its depth or channels (grey, 16-bit, alpha)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # libjpeg/libpng print their complaints straight to the terminal: catch them, say it once.
        with captured_native_output() as complaints:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise BgblurError(
                f"cannot read image {path}: not a picture OpenCV can decode (damaged, or not an image; "
                "convert it to PNG or JPEG)"
            )
        if complaints:
            warn(f"{path}: the decoder said {complaints[0]!r}; the picture may be damaged (using what was decoded)")
        self._image: np.ndarray | None = image
        self.info = StreamInfo(str(path), (image.shape[1], image.shape[0]), 0.0, 1, path=path)

    def read(self) -> Frame | None:
        image, self._image = self._image, None
        return None if image is None else Frame(image, 0, 0.0)


class VideoFileSource(Source):
    """A video file read frame by frame: every frame, in order, none dropped (never through a latest-frame thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._capture = cv2.VideoCapture(str(path))
        if not self._capture.isOpened():
            self._capture.release()
            raise BgblurError(
                f"cannot read video {path}: not a video OpenCV can decode (damaged, or not a video; "
                "try converting it with ffmpeg -i IN OUT.mp4)"
            )
        fps = self._capture.get(cv2.CAP_PROP_FPS) or 30.0
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        ok, first = self._capture.read()
        if not ok:
            self._capture.release()
            raise BgblurError(f"cannot read video {path}: no frame could be decoded")
        self._pending: np.ndarray | None = first
        self.info = StreamInfo(
            str(path), (first.shape[1], first.shape[0]), fps, count if count > 0 else None, path=path
        )
        self._next_index = 0
        self._closed = False

    def read(self) -> Frame | None:
        if self._closed:
            return None
        if self._pending is not None:
            image, self._pending = self._pending, None
        else:
            ok, image = self._capture.read()
            if not ok:
                # Some containers count one frame more than they hold, hence the slack of one.
                if self.frame_count and self._next_index < self.frame_count - 1:
                    raise BgblurError(
                        f"{self.path}: only {self._next_index} of its {self.frame_count} frames could be decoded "
                        "(the file looks truncated or damaged); the output holds those frames. "
                        "Copy or download the video again"
                    )
                return None
        if (image.shape[1], image.shape[0]) != self.size:
            raise BgblurError(
                f"{self.path}: frame {self._next_index} is {image.shape[1]}x{image.shape[0]}, "
                f"the video started at {self.size[0]}x{self.size[1]}; re-encode it at one size"
            )
        frame = Frame(image, self._next_index, self._next_index / self.fps)
        self._next_index += 1
        return frame

    def close(self) -> None:
        self._closed = True
        self._capture.release()
