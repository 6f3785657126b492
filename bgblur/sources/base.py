"""The source protocol: what every source gives the stages after it."""

from __future__ import annotations

from bgblur.frames import Frame, StreamInfo


class Source:
    """Base of all sources: a context manager with ``read() -> Frame | None``, ``close()`` and ``info``."""

    info: StreamInfo = StreamInfo("source")

    # Shorthands for the fields of ``info`` (read-only: a source's info is set once, as a whole).
    description = property(lambda self: self.info.description)
    size = property(lambda self: self.info.size)
    fps = property(lambda self: self.info.fps)
    frame_count = property(lambda self: self.info.frame_count)
    is_live = property(lambda self: self.info.is_live)

    def read(self) -> Frame | None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the source holds; safe to call twice."""

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
