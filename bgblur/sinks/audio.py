"""Keeping the source's sound: OpenCV writes video only, so the audio track is muxed back afterwards with the
system's ``ffmpeg`` (video stream copied, audio copied or else re-encoded to AAC).

Nothing is lost when this fails: the written video stays as it was and one warning says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bgblur.errors import warn

INSTALL_HINT = "install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg) and run again to keep it"


def has_audio(path: Path, ffprobe: str | None = None) -> bool:
    """Does ``path`` hold an audio stream? (``ffprobe``; False when it cannot tell.)"""
    ffprobe = ffprobe or shutil.which("ffprobe")
    if ffprobe is None:
        return False
    try:
        result = subprocess.run(
            [ffprobe, "-v", "error", "-select_streams", "a", "-show_entries", "stream=index", "-of", "csv=p=0", path],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and bool(result.stdout.strip())


def _mux(ffmpeg: str, video: Path, audio_source: Path, target: Path, audio_codec: list[str]) -> bool:
    command = [ffmpeg, "-nostdin", "-y", "-v", "error", "-i", video, "-i", audio_source]
    command += ["-map", "0:v:0", "-map", "1:a:0?", "-c:v", "copy", *audio_codec, "-shortest", target]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and target.is_file() and target.stat().st_size > 0


def keep_audio(video: Path, source: Path, quiet: bool = False) -> bool:
    """Put ``source``'s first audio track into the finished ``video`` in place. True if the video now has it."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        if not quiet:
            warn(
                f"the output has no sound: ffmpeg is not on PATH, so any audio of {source.name} was dropped; "
                f"{INSTALL_HINT}"
            )
        return False
    ffprobe = shutil.which("ffprobe")
    if ffprobe is not None and not has_audio(source, ffprobe):
        return False  # nothing to keep
    muxed = video.with_name(f".{video.stem}.bgblur-audio{video.suffix}")
    try:
        # Copying is lossless and instant; some containers refuse the source's codec, then AAC.
        for codec in (["-c:a", "copy"], ["-c:a", "aac", "-b:a", "160k"]):
            if _mux(ffmpeg, video, source, muxed, codec):
                os.replace(muxed, video)
                return True
    finally:
        muxed.unlink(missing_ok=True)
    if not quiet:
        warn(f"could not copy the sound of {source.name} into {video} (ffmpeg failed); the video is kept without it")
    return False
