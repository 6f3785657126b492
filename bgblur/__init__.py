"""bgblur: keep the person sharp and the room private."""

import os

__version__ = "0.1.0"

# OpenCV and FFmpeg print their own warnings for every unreadable file; bgblur reports problems itself
# in one line. Set these variables yourself to see OpenCV's messages.
os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
