"""Where frames come from: a picture, a video file (every frame), a camera or stream (the newest frame), a
simulated camera; :func:`open_source` picks one for ``--source``.

Every source hands out :class:`~bgblur.frames.Frame` objects from ``read()`` and returns ``None`` at the end of
the stream (and again on every later call); ``close()`` releases what it holds and may be called twice. What the
stream is (size, rate, frame count) is its ``info``, a :class:`~bgblur.frames.StreamInfo`."""

from __future__ import annotations

import re
from pathlib import Path

import cv2

from bgblur.errors import BgblurError
from bgblur.imaging import READABLE_IMAGE_SUFFIXES
from bgblur.sources.base import Source
from bgblur.sources.files import ImageSource, VideoFileSource
from bgblur.sources.live import LiveSource

__all__ = ["Source", "is_stream_url", "open_source"]

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "tcp", "udp", "http", "https", "srt")


def is_stream_url(spec: str) -> bool:
    return re.match(rf"^({'|'.join(STREAM_SCHEMES)})://", spec, re.IGNORECASE) is not None


def open_source(
    spec: str,
    *,
    open_timeout: float = 10.0,
    read_timeout: float = 3.0,
    reconnect_for: float = 10.0,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
) -> Source:
    """Open ``spec``: a camera index (``0``), a stream URL, an image file or a video file."""
    if spec.isdigit():
        return LiveSource(int(spec), open_timeout, read_timeout, reconnect_for, size, fps)
    if is_stream_url(spec):
        return LiveSource(spec, open_timeout, read_timeout, reconnect_for, size, fps)
    path = Path(spec)
    if not path.exists():
        raise BgblurError(f"source not found: {spec} (give a camera index, a video or image file, or a stream URL)")
    if path.is_dir():
        raise BgblurError(f"source is a folder, not a file: {spec} (give a video or image file inside it)")
    if path.stat().st_size == 0:
        raise BgblurError(f"source is an empty file: {spec} (an interrupted copy or download?)")
    if path.suffix.lower() in READABLE_IMAGE_SUFFIXES or cv2.haveImageReader(str(path)):
        return ImageSource(path)
    return VideoFileSource(path)
