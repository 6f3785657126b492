"""Where finished frames go: an OpenCV window, a video file, an image file (and the matte, as either).

File sinks write to a hidden partial file beside the target and move it into place on ``close()``, so an
interrupted run leaves a playable file and an existing file is never half-overwritten.
"""

from __future__ import annotations

import os
import shutil
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
        if self.frames % 8 == 0:
            self._check_room()
        if self.gray:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        self._writer.write(image)
        self.frames += 1

    def _check_room(self) -> None:
        """Stop while there is still room to finish the file: OpenCV's writer fails silently on a full disk and
        then cannot write the index, which leaves an unplayable video."""
        written = self._partial.stat().st_size if self._partial.exists() else 0
        per_frame = written / self.frames if self.frames else 0
        reserve = max(4 << 20, 30 * per_frame, 64 * self.frames)  # the index grows with the frame count
        if shutil.disk_usage(self._partial.parent).free < reserve:
            raise BgblurError(
                f"the disk holding {self.path} is almost full: stopped after {self.frames} frames, "
                "which are kept in that file (free some space and run again)"
            )

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
        self._shown = False  # the window opens with the first frame, at that frame's size
        self._size: tuple[int, int] | None = None

    def _closed(self) -> bool:
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:  # OpenCV 5 + Qt raises once the last window is gone
            return True

    def show(self, image: np.ndarray) -> int:
        size = (image.shape[1], image.shape[0])
        if not self._shown:
            # Sized explicitly rather than WINDOW_AUTOSIZE: an autosized Qt window resized after it is mapped
            # sometimes stays black (seen 1 run in 12 under Xvfb on a loaded machine; 0 in 24 this way).
            cv2.namedWindow(self.title, cv2.WINDOW_NORMAL | cv2.WINDOW_GUI_NORMAL | cv2.WINDOW_KEEPRATIO)
        elif self._closed():
            return self.CLOSED
        if size != self._size:  # the first frame, or the view changed (e.g. the matte shown beside it)
            cv2.resizeWindow(self.title, *size)
            self._size = size
        cv2.imshow(self.title, image)
        self._shown = True
        key = cv2.waitKey(1)
        if self._closed():
            return self.CLOSED
        return key & 0xFF if key >= 0 else -1

    def close(self) -> None:
        if not self._shown:
            return
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass  # already gone: the user closed it


VCAM_HINT_LINUX = (
    "load a loopback device: sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=bgblur "
    "(package v4l2loopback-dkms), then pass its path, e.g. --virtual-camera /dev/video10"
)
VCAM_HINT_OTHER = "install OBS Studio and start its Virtual Camera once, then run bgblur again"


class VirtualCameraSink:
    """A virtual camera that Zoom, Meet and Teams can pick (through the optional ``pyvirtualcam``).

    A sender thread sends the newest frame at a steady ``fps``, repeating the last one when processing
    stalls, because call apps drop a camera that stops sending. Odd widths are padded by one column (many
    consumers need an even width).
    """

    def __init__(self, size: tuple[int, int], fps: float, device: str | None = None) -> None:
        try:
            import pyvirtualcam
        except ImportError:
            raise BgblurError(
                "the virtual camera needs the optional pyvirtualcam package: pip install 'bgblur[vcam]'"
            ) from None
        import threading

        width, height = size
        self.pad = width % 2
        try:
            self._camera = pyvirtualcam.Camera(
                width + self.pad, height, fps, fmt=pyvirtualcam.PixelFormat.BGR, device=device
            )
        except (RuntimeError, ValueError, OSError) as exc:
            hint = VCAM_HINT_LINUX if sys.platform.startswith("linux") else VCAM_HINT_OTHER
            reason = " ".join(str(exc).split())
            raise BgblurError(f"no virtual camera available ({reason}): {hint}") from None
        self.device = self._camera.device
        self.fps = fps
        self.frames = 0  # frames sent, repeats included
        self._latest: np.ndarray | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._send_steadily, name="bgblur-vcam", daemon=True)
        self._thread.start()

    def write(self, image: np.ndarray) -> None:
        if self._error is not None:
            raise BgblurError(f"the virtual camera {self.device} stopped: {self._error}")
        if self.pad:
            image = cv2.copyMakeBorder(image, 0, 0, 0, self.pad, cv2.BORDER_REPLICATE)
        with self._lock:
            self._latest = image

    def _send_steadily(self) -> None:
        import time

        period = 1.0 / self.fps
        next_due = time.monotonic()
        while not self._stop.is_set():
            with self._lock:
                frame = self._latest
            if frame is not None:
                try:
                    self._camera.send(frame)
                except Exception as exc:  # reported to the pipeline by the next write()
                    self._error = exc
                    return
                self.frames += 1
            next_due += period
            delay = next_due - time.monotonic()
            if delay < -period:  # fell far behind (a stall): restart the clock instead of bursting
                next_due = time.monotonic()
                delay = 0.0
            self._stop.wait(max(delay, 0.0))

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(5.0)
        self._camera.close()


class SinkGroup:
    """Several sinks fed the same frames (e.g. a recording and the virtual camera)."""

    def __init__(self, sinks: list) -> None:
        self.sinks = sinks

    def write(self, image: np.ndarray) -> None:
        for sink in self.sinks:
            sink.write(image)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
