"""Video and picture files as outputs (the result, or the matte).

File sinks write to a hidden partial file beside the target and move it into place on ``close()``, so an
interrupted run leaves a playable file and an existing file is never half-overwritten."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

from bgblur.errors import BgblurError, warn
from bgblur.imaging import WRITABLE_IMAGE_SUFFIXES
from bgblur.sinks.audio import keep_audio
from bgblur.sinks.ffmpeg_pipe import FfmpegPipeWriter, ffmpeg_path

VIDEO_CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG"}


def partial_path(path: Path) -> Path:
    """The hidden file a sink writes before moving it to ``path`` (same folder, same extension)."""
    return path.with_name(f".{path.stem}.bgblur-partial{path.suffix}")


def publish(partial: Path, path: Path, kind: str) -> None:
    """Move the finished ``partial`` file into place as ``path``. Its folder moved or deleted during the run took the
    partial file with it: said in one line, not as an unexpected error."""
    try:
        os.replace(partial, path)
    except FileNotFoundError:
        raise BgblurError(f"cannot finish {kind} {path}: {folder_gone(path)}") from None


def folder_gone(path: Path) -> str:
    """Why ``path`` cannot be finished when its folder is gone."""
    return f"its folder {path.parent} was moved or deleted while bgblur wrote it, and the partial file with it"


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


def open_writer(path: Path, codec: str, fps: float, size: tuple[int, int], quiet: bool = False):
    """The writer for a video of exactly ``size``. OpenCV's FFmpeg writer drops the last column and row of an odd
    size, so an odd-sized AVI goes to OpenCV's own MJPEG writer (any size) and an odd-sized MP4/MOV/MKV to the
    system's ffmpeg (the same MPEG-4 codec); without ffmpeg it is written one pixel smaller, and one line says so."""
    width, height = size
    fourcc = cv2.VideoWriter_fourcc(*codec)
    if width % 2 == 0 and height % 2 == 0:
        return cv2.VideoWriter(str(path), fourcc, fps, size)
    if codec == "MJPG":
        return cv2.VideoWriter(str(path), cv2.CAP_OPENCV_MJPEG, fourcc, fps, size)
    ffmpeg = ffmpeg_path()
    if ffmpeg is not None:
        return FfmpegPipeWriter(ffmpeg, path, fps, size)
    if not quiet:
        warn(
            f"{path.suffix} video at {width}x{height} comes out {width & ~1}x{height & ~1}: OpenCV writes even sizes "
            "only; install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg) to keep the size, or write .avi"
        )
    return cv2.VideoWriter(str(path), fourcc, fps, size)


class VideoFileSink:
    """A video file at a fixed size and rate; ``gray`` writes a single-channel picture (e.g. the matte).
    ``audio_from``: a file whose sound is copied into the video once it is complete (with ffmpeg)."""

    def __init__(
        self,
        path: Path,
        fps: float,
        size: tuple[int, int],
        gray: bool = False,
        *,
        audio_from: Path | None = None,
        quiet: bool = False,
    ) -> None:
        codec = VIDEO_CODECS.get(path.suffix.lower())
        if codec is None:
            raise BgblurError(
                f"cannot write video {path}: a video source gives a video, use one of {', '.join(sorted(VIDEO_CODECS))}"
            )
        self.path = path
        self.size = size
        self.gray = gray
        self.audio_from = audio_from
        self.quiet = quiet
        self.frames = 0
        self._partial = partial_path(path)
        self._writer = open_writer(self._partial, codec, fps, size, quiet)
        if not self._writer.isOpened():
            self._writer.release()
            self._partial.unlink(missing_ok=True)
            raise BgblurError(f"cannot write video {path}: OpenCV could not open a {codec} writer for it")

    def write(self, image: np.ndarray) -> None:
        if self._writer is None:
            raise BgblurError(f"video {self.path} was written after it was closed")
        if self.frames % 8 == 0:
            self._check_room()
        if self.gray:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        self._writer.write(image)
        self.frames += 1

    def _check_room(self) -> None:
        """Stop while there is still room to finish the file: OpenCV's writer fails silently on a full disk and
        then cannot write the index, which leaves an unplayable video."""
        if not self._partial.parent.is_dir():  # stop now rather than encode the rest into a deleted file
            raise BgblurError(f"stopped writing video {self.path} after {self.frames} frames: {folder_gone(self.path)}")
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
        writer, self._writer = self._writer, None
        try:
            writer.release()  # ffmpeg's writer raises here if it failed: then there is no file to publish
        except BgblurError:
            self._partial.unlink(missing_ok=True)
            raise
        if not self.frames:
            self._partial.unlink(missing_ok=True)
            return
        publish(self._partial, self.path, "video")
        if self.audio_from is not None:
            keep_audio(self.path, self.audio_from, quiet=self.quiet)


class ImageFileSink:
    """One picture: each ``write`` goes to the partial file (so a failure shows at once), ``close`` moves the last
    one into place."""

    def __init__(self, path: Path) -> None:
        if path.suffix.lower() not in WRITABLE_IMAGE_SUFFIXES:
            raise BgblurError(
                f"cannot write image {path}: a picture source gives a picture, use one of "
                f"{', '.join(sorted(WRITABLE_IMAGE_SUFFIXES))}"
            )
        self.path = path
        self.frames = 0
        self._partial = partial_path(path)
        self._closed = False

    def write(self, image: np.ndarray) -> None:
        if self._closed:
            raise BgblurError(f"image {self.path} was written after it was closed")
        try:
            ok = cv2.imwrite(str(self._partial), image)
        except cv2.error:
            ok = False
        if not ok:
            self._partial.unlink(missing_ok=True)
            raise BgblurError(f"cannot write image {self.path}")
        self.frames += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.frames:
            publish(self._partial, self.path, "image")
