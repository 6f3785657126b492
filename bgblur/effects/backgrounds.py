"""Backgrounds that replace the room: a picture, a looping video, a folder of pictures, or a plain colour.

Every provider answers ``frame_for((width, height))`` with a BGR uint8 picture of exactly that size. Pictures
and videos are scaled to *cover* the frame keeping their aspect (centre crop), never stretched; the result is
cached per frame size, so a still background costs nothing per frame.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from bgblur.errors import BgblurError, UsageError
from bgblur.imaging import READABLE_IMAGE_SUFFIXES

# Named colours as RGB (what people write); converted to BGR for OpenCV.
NAMED_COLOURS = {
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "red": (255, 0, 0),
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
    "yellow": (255, 255, 0),
    "cyan": (0, 255, 255),
    "magenta": (255, 0, 255),
}

DEFAULT_COLOUR = "green"


class BackgroundProvider(Protocol):
    """Anything that gives a background picture for a frame size."""

    description: str

    def frame_for(self, size: tuple[int, int]) -> np.ndarray: ...

    def close(self) -> None: ...


def parse_colour(text: str) -> tuple[int, int, int] | None:
    """``green``, ``#00ff00`` or ``0,255,0`` (RGB) → BGR triple; ``None`` if ``text`` is not a colour."""
    spec = text.strip().lower()
    if spec in NAMED_COLOURS:
        r, g, b = NAMED_COLOURS[spec]
        return (b, g, r)
    if re.fullmatch(r"#[0-9a-f]{6}", spec):
        r, g, b = (int(spec[i : i + 2], 16) for i in (1, 3, 5))
        return (b, g, r)
    parts = spec.replace(" ", "").split(",")
    if len(parts) == 3 and all(p.isdigit() and int(p) <= 255 for p in parts):
        r, g, b = (int(p) for p in parts)
        return (b, g, r)
    return None


def cover_crop(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale ``image`` to cover ``size`` (w, h) keeping its aspect, then cut the centre: no stretching, no bars."""
    width, height = size
    src_h, src_w = image.shape[:2]
    scale = max(width / src_w, height / src_h)
    scaled_w, scaled_h = max(width, round(src_w * scale)), max(height, round(src_h * scale))
    # INTER_AREA when shrinking avoids aliasing; INTER_LINEAR when enlarging is smooth and fast.
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(image, (scaled_w, scaled_h), interpolation=interpolation)
    x0, y0 = (scaled_w - width) // 2, (scaled_h - height) // 2
    return np.ascontiguousarray(scaled[y0 : y0 + height, x0 : x0 + width])


class ColourBackground:
    """A plain colour (BGR)."""

    def __init__(self, bgr: tuple[int, int, int], description: str = "") -> None:
        self.bgr = bgr
        self.description = description or f"colour {bgr[::-1]}"
        self._cache: dict[tuple[int, int], np.ndarray] = {}

    def frame_for(self, size: tuple[int, int]) -> np.ndarray:
        cached = self._cache.get(size)
        if cached is None:
            cached = self._cache[size] = np.full((size[1], size[0], 3), self.bgr, np.uint8)
        return cached

    def close(self) -> None:
        pass


class ImageBackground:
    """A picture file, decoded on first use and cover-cropped once per frame size."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = path.name
        self._image: np.ndarray | None = None
        self._cache: dict[tuple[int, int], np.ndarray] = {}

    def _load(self) -> np.ndarray:
        if self._image is None:
            image = cv2.imread(str(self.path), cv2.IMREAD_COLOR)
            if image is None:
                raise BgblurError(f"cannot read background {self.path}: not a picture OpenCV can decode")
            self._image = image
        return self._image

    def frame_for(self, size: tuple[int, int]) -> np.ndarray:
        cached = self._cache.get(size)
        if cached is None:
            cached = self._cache[size] = cover_crop(self._load(), size)
        return cached

    def close(self) -> None:
        pass


class VideoBackground:
    """A video file played in a loop, one step per source frame, at its own speed whatever the source's rate
    (a 24 fps background under a 30 fps camera advances 0.8 of its frames per camera frame)."""

    def __init__(self, path: Path, source_fps: float = 0.0) -> None:
        self.path = path
        self.description = path.name
        self._capture = cv2.VideoCapture(str(path))
        ok, first = self._capture.read() if self._capture.isOpened() else (False, None)
        if not ok:
            self._capture.release()
            raise BgblurError(f"cannot read background video {path}: not a video OpenCV can decode")
        own_fps = self._capture.get(cv2.CAP_PROP_FPS) or 0.0
        # Background frames to advance per source frame; 1 when either rate is unknown (e.g. a still source).
        self.step = own_fps / source_fps if own_fps > 0 and source_fps > 0 else 1.0
        self._decoded = first
        self._decoded_index = 0  # index (within one loop) of the frame in _decoded
        self._position = 0.0  # where the next call is, in background frames
        self._cropped: np.ndarray | None = None
        self._cropped_key: tuple[int, tuple[int, int]] | None = None

    def _advance_to(self, target: int) -> None:
        while self._decoded_index < target:
            ok, image = self._capture.read()
            if not ok:  # end of the clip: loop back to its start
                if self._decoded_index == 0:
                    return  # a one-frame video: stay on it
                self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, image = self._capture.read()
                if not ok:
                    return
                self._position -= self._decoded_index + 1
                target -= self._decoded_index + 1
                self._decoded_index = 0
                self._decoded = image
                continue
            self._decoded = image
            self._decoded_index += 1

    def frame_for(self, size: tuple[int, int]) -> np.ndarray:
        self._advance_to(int(self._position))
        self._position += self.step
        key = (self._decoded_index, size)
        if key != self._cropped_key:  # a slower background repeats frames: crop each one once
            self._cropped = cover_crop(self._decoded, size)
            self._cropped_key = key
        assert self._cropped is not None
        return self._cropped

    def close(self) -> None:
        self._capture.release()


def folder_images(folder: Path) -> list[Path]:
    """The pictures in ``folder``, sorted by name (the order ``a``/``d`` cycle through)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in READABLE_IMAGE_SUFFIXES)


def open_backgrounds(spec: str, source_fps: float = 0.0) -> list[BackgroundProvider]:
    """``--background SPEC`` → the backgrounds it names: one for a picture, video or colour, several for a folder."""
    path = Path(spec)
    if path.is_dir():
        images = folder_images(path)
        if not images:
            raise UsageError(
                f"--background folder {spec} holds no pictures ({', '.join(sorted(READABLE_IMAGE_SUFFIXES))})"
            )
        return [ImageBackground(p) for p in images]
    if path.is_file():
        if path.suffix.lower() in READABLE_IMAGE_SUFFIXES or cv2.haveImageReader(str(path)):
            background = ImageBackground(path)
            background.frame_for((16, 16))  # decode now: a bad file fails before any work, not mid-run
            return [background]
        return [VideoBackground(path, source_fps)]
    colour = parse_colour(spec)
    if colour is None:
        raise UsageError(
            f"--background {spec!r} is neither a file, a folder nor a colour "
            "(give a picture, a video, a folder of pictures, a name like green, #00ff00 or 0,255,0)"
        )
    return [ColourBackground(colour, spec)]


def background_choices(spec: str | None, source_fps: float = 0.0) -> list[BackgroundProvider]:
    """What ``a``/``d`` cycle through after blur: the ``--background`` ones, then a plain colour (always last)."""
    chosen = open_backgrounds(spec, source_fps) if spec else []
    if not any(isinstance(b, ColourBackground) for b in chosen):
        colour = parse_colour(DEFAULT_COLOUR)
        assert colour is not None
        chosen.append(ColourBackground(colour, DEFAULT_COLOUR))
    return chosen
