"""Where finished frames go: video and picture files, the matte, a virtual camera, the window.

Every sink has ``write(image)`` and ``close()`` (safe to call twice); a file is published complete on close.
:class:`SinkGroup` feeds several sinks the same frames; :class:`~bgblur.sinks.threaded.ThreadedWriter` moves a
sink's work off the display loop.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Sink(Protocol):
    def write(self, image: np.ndarray) -> None: ...

    def close(self) -> None: ...


def close_all(closables: list) -> None:
    """Close each of ``closables`` (None entries skipped), even when one fails to; the first failure is raised
    after all were closed."""
    error: BaseException | None = None
    for item in closables:
        if item is None:
            continue
        try:
            item.close()
        except BaseException as exc:
            error = error or exc
    if error is not None:
        raise error


class SinkGroup:
    """Several sinks fed the same frames (e.g. a recording and the virtual camera); closed together, every one
    even when another fails to close (the first failure is raised after)."""

    def __init__(self, sinks: list[Sink]) -> None:
        self.sinks = sinks

    def write(self, image: np.ndarray) -> None:
        for sink in self.sinks:
            sink.write(image)

    def close(self) -> None:
        close_all(self.sinks)
