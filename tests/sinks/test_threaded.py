"""Writing off the display loop: every picture, in order; a failing sink is reported, not swallowed."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from bgblur.sinks.threaded import ThreadedWriter


class SlowSink:
    def __init__(self, fail_at: int | None = None) -> None:
        self.written: list[int] = []
        self.fail_at = fail_at
        self.closed = False

    def write(self, image: np.ndarray) -> None:
        if len(self.written) == self.fail_at:
            raise OSError("disk full")
        time.sleep(0.001)
        self.written.append(int(image[0, 0]))

    def close(self) -> None:
        self.closed = True


def test_every_picture_written_in_order_and_the_thread_joined() -> None:
    threads = threading.active_count()
    sink = SlowSink()
    writer = ThreadedWriter(sink, depth=2)
    for value in range(40):
        writer.write(np.full((2, 2), value, np.uint8))
    writer.close()
    assert sink.written == list(range(40))
    assert sink.closed  # close() writes what is queued, then closes the sink
    assert threading.active_count() == threads
    writer.close()  # a second close is safe and writes nothing more
    assert sink.written == list(range(40))


def failing_writer(sink: SlowSink) -> ThreadedWriter:
    """A writer over ``sink`` (which fails on a write), fed until the failure reaches the caller's thread."""
    writer = ThreadedWriter(sink, depth=2)
    with pytest.raises(OSError, match="disk full"):
        for value in range(50):
            writer.write(np.full((2, 2), value, np.uint8))
    return writer


def test_a_failed_write_is_raised_in_the_callers_thread() -> None:
    sink = SlowSink(fail_at=3)
    writer = failing_writer(sink)
    with pytest.raises(OSError, match="disk full"):  # the thread is joined, and the failure stays reported
        writer.write(np.full((2, 2), 0, np.uint8))
    with pytest.raises(OSError, match="disk full"):  # close() reports it too, and still closes the sink
        writer.close()
    assert sink.closed


class FailingClose(SlowSink):
    def close(self) -> None:
        self.closed = True
        raise OSError("cannot finish: the folder is gone")


def test_a_failed_write_is_what_close_reports_when_the_sinks_close_fails_too() -> None:
    sink = FailingClose(fail_at=2)
    writer = failing_writer(sink)
    with pytest.raises(OSError, match="disk full"):  # the first failure, not the close's that follows from it
        writer.close()
    assert sink.closed


def test_a_sinks_close_failure_alone_is_reported() -> None:
    sink = FailingClose()
    writer = ThreadedWriter(sink, depth=2)
    writer.write(np.full((2, 2), 1, np.uint8))
    with pytest.raises(OSError, match="the folder is gone"):
        writer.close()
