"""A video writer that pipes frames into the system's ``ffmpeg``, for what OpenCV's writer cannot do: OpenCV's
FFmpeg writer drops the last column and row of an odd-sized frame (853x479 comes out 852x478, whatever the codec),
while ffmpeg's own MPEG-4 encoder (the codec OpenCV's ``mp4v`` is) takes any size."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from bgblur.errors import BgblurError


def ffmpeg_path() -> str | None:
    return shutil.which("ffmpeg")


class FfmpegPipeWriter:
    """MPEG-4 Part 2 video (``mp4v``, yuv420p) at exactly ``size`` (w, h), written by ``ffmpeg`` from raw BGR frames;
    the same calls as ``cv2.VideoWriter`` (``write``, ``release``)."""

    def __init__(self, ffmpeg: str, path: Path, fps: float, size: tuple[int, int]) -> None:
        self.path = path
        self.size = size
        # ffmpeg's complaints, read only if it fails (a pipe could fill up); closed by release()
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        command = [ffmpeg, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{size[0]}x{size[1]}"]
        command += ["-r", f"{fps or 30.0:.10g}", "-i", "-", "-an", "-c:v", "mpeg4", "-q:v", "3", "-pix_fmt", "yuv420p"]
        if path.suffix.lower() in (".mp4", ".mov", ".m4v"):
            command += ["-f", "mp4" if path.suffix.lower() != ".mov" else "mov", "-tag:v", "mp4v"]
        try:
            self._process: subprocess.Popen | None = subprocess.Popen(
                [*command, str(path)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log
            )
        except OSError as exc:
            self._log.close()
            raise BgblurError(f"cannot write video {path}: ffmpeg did not start ({exc.strerror or exc})") from None

    def isOpened(self) -> bool:  # cv2.VideoWriter's name
        return self._process is not None and self._process.poll() is None

    def _failure(self) -> str:
        self._log.seek(0)
        lines = self._log.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else "it stopped"

    def write(self, image: np.ndarray) -> None:
        if self._process is None or self._process.stdin is None:
            raise BgblurError(f"video {self.path} was written after it was closed")
        if image.shape[:2] != (self.size[1], self.size[0]):
            shape = f"{image.shape[1]}x{image.shape[0]}"
            raise BgblurError(f"video {self.path}: a {shape} frame in a {self.size[0]}x{self.size[1]} video")
        try:
            self._process.stdin.write(np.ascontiguousarray(image).data)
        except (BrokenPipeError, OSError):
            self._process.wait()
            raise BgblurError(f"cannot write video {self.path}: ffmpeg failed ({self._failure()})") from None

    def release(self) -> None:
        """Finish the file (ffmpeg writes its index); raises BgblurError if ffmpeg failed."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()
        except OSError:
            pass
        status = process.wait()
        try:
            if status != 0:
                raise BgblurError(f"cannot write video {self.path}: ffmpeg failed ({self._failure()})")
        finally:
            self._log.close()
