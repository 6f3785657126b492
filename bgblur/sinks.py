"""Where finished frames go: an OpenCV window, a video file, an image file (and the matte, as either).

File sinks write to a hidden partial file beside the target and move it into place on ``close()``, so an
interrupted run leaves a playable file and an existing file is never half-overwritten.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from bgblur.errors import BgblurError

WINDOW_TITLE = "bgblur"
VIDEO_CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}


def partial_path(path: Path) -> Path:
    """The hidden file a sink writes before moving it to ``path`` (same folder, same extension)."""
    return path.with_name(f".{path.stem}.bgblur-partial{path.suffix}")


def check_output_path(path: Path, kind: str, overwrite: bool, inputs: list[Path]) -> None:
    """Refuse outputs that would lose the user's data or cannot be written, before any work starts."""
    for source in inputs:
        if source.exists() and path.exists() and os.path.samefile(source, path):
            raise BgblurError(f"{kind} {path} is the input file: choose another name (the input is never overwritten)")
    if path.is_dir():
        raise BgblurError(f"{kind} {path} is a folder: give a file name")
    if path.exists() and not overwrite:
        raise BgblurError(f"{kind} {path} already exists: pass --overwrite to replace it")
    folder = path.parent
    if not folder.exists():
        raise BgblurError(f"cannot write {kind} {path}: folder {folder} does not exist (create it first)")
    if not folder.is_dir():
        raise BgblurError(f"cannot write {kind} {path}: {folder} is a file, not a folder")
    # Try it: permission bits say nothing for root, read-only mounts or /proc.
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".bgblur-probe-"):
            pass
    except OSError as exc:
        raise BgblurError(
            f"cannot write {kind} {path}: folder {folder} is not writable ({exc.strerror}); choose another folder"
        ) from None


class VideoFileSink:
    """A video file at a fixed size and rate; ``gray`` writes a single-channel picture (e.g. the matte)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], gray: bool = False) -> None:
        codec = VIDEO_CODECS.get(path.suffix.lower())
        if codec is None:
            raise BgblurError(
                f"cannot write video {path}: a video source gives a video, use one of {', '.join(sorted(VIDEO_CODECS))}"
            )
        self.path = path
        self.size = size
        self.gray = gray
        self.frames = 0
        self._partial = partial_path(path)
        self._writer = cv2.VideoWriter(str(self._partial), cv2.VideoWriter_fourcc(*codec), fps, size)
        if not self._writer.isOpened():
            self._writer.release()
            self._partial.unlink(missing_ok=True)
            raise BgblurError(f"cannot write video {path}: OpenCV could not open a {codec} writer for it")

    def write(self, image: np.ndarray) -> None:
        if self.gray:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        self._writer.write(image)
        self.frames += 1

    def close(self) -> None:
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        if self.frames:
            os.replace(self._partial, self.path)
        else:
            self._partial.unlink(missing_ok=True)


class ImageFileSink:
    """One picture; written on the first ``write`` (through a partial file, then moved into place)."""

    def __init__(self, path: Path) -> None:
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise BgblurError(
                f"cannot write image {path}: a picture source gives a picture, use one of "
                f"{', '.join(sorted(IMAGE_SUFFIXES))}"
            )
        self.path = path
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        partial = partial_path(self.path)
        try:
            ok = cv2.imwrite(str(partial), image)
        except cv2.error:
            ok = False
        if not ok:
            partial.unlink(missing_ok=True)
            raise BgblurError(f"cannot write image {self.path}")
        os.replace(partial, self.path)
        self.frames += 1

    def close(self) -> None:
        pass


def display_available() -> bool:
    """Is there an X display to open a window on? Without one OpenCV's Qt aborts the whole process."""
    if sys.platform in ("win32", "darwin"):
        return True
    display = os.environ.get("DISPLAY", "")
    if not display:
        return False
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    try:
        if host in ("", "unix"):
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(2)
                sock.connect(f"/tmp/.X11-unix/X{number}")
        else:
            with socket.create_connection((host, 6000 + int(number)), timeout=2):
                pass
    except OSError:
        return False
    return True


class WindowSink:
    """The ``bgblur`` window at the frame's real size; ``show`` returns the key pressed (-1 for none)."""

    CLOSED = -2  # show() returns this once the user closed the window

    def __init__(self, title: str = WINDOW_TITLE) -> None:
        if not display_available():
            raise BgblurError(
                "no display to open a window on (DISPLAY is unset or unreachable): "
                "use --no-window with --output or --virtual-camera"
            )
        self.title = title
        cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
        self._shown = False

    def show(self, image: np.ndarray) -> int:
        if self._shown and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            return self.CLOSED
        cv2.imshow(self.title, image)
        self._shown = True
        key = cv2.waitKey(1)
        if cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            return self.CLOSED
        return key & 0xFF if key >= 0 else -1

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass  # already gone: the user closed it
