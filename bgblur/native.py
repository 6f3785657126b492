"""Keeping native libraries' own chatter (OpenCV importers, libjpeg, protobuf) out of the user's terminal.

Some native code prints straight to the process's stdout/stderr file descriptors, past Python and past
``OPENCV_LOG_LEVEL``: OpenCV's TensorFlow importer dumps its layer map to stdout when a graph is broken,
libjpeg prints "Premature end of JPEG file". bgblur reports such problems itself, in one line.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def captured_native_output() -> Iterator[list[str]]:
    """Redirect file descriptors 1 and 2 to a temporary file for the block; yields a list that receives the
    captured lines afterwards. With ``BGBLUR_DEBUG`` set nothing is captured (the list stays empty)."""
    lines: list[str] = []
    if os.environ.get("BGBLUR_DEBUG"):
        yield lines
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = []
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:  # no usable descriptors (e.g. closed stdout): nothing to protect
        for fd in saved:
            os.close(fd)
        yield lines
        return
    with tempfile.TemporaryFile() as sink:
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            yield lines
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            text = sink.read().decode("utf-8", errors="replace")
            lines.extend(line.strip() for line in text.splitlines() if line.strip())
