"""Reading a video ahead: every frame in order, errors where the pipeline reads, no thread left behind."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from bgblur.errors import BgblurError
from bgblur.frames import Frame, StreamInfo
from bgblur.sources.base import Source
from bgblur.sources.prefetch import PrefetchSource


class CountingSource(Source):
    """``count`` tiny frames, then the end; optionally an error instead of frame ``fail_at``."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count = count
        self.fail_at = fail_at
        self.info = StreamInfo("counting source", (2, 2), 30.0, frame_count=count)
        self.next_index = 0
        self.closed = False

    def read(self) -> Frame | None:
        if self.next_index == self.fail_at:
            raise BgblurError(f"frame {self.fail_at} is broken")
        if self.next_index >= self.count:
            return None
        frame = Frame(np.full((2, 2, 3), self.next_index % 256, np.uint8), self.next_index, self.next_index / 30)
        self.next_index += 1
        return frame

    def close(self) -> None:
        self.closed = True


def read_all(source: Source) -> list[int]:
    indices = []
    while (frame := source.read()) is not None:
        indices.append(frame.index)
    return indices


def test_every_frame_in_order_then_the_end() -> None:
    inner = CountingSource(50)
    source = PrefetchSource(inner, depth=2)
    assert read_all(source) == list(range(50))
    assert source.read() is None
    source.stop()
    assert not inner.closed  # stop() leaves the wrapped source to its owner
    source.close()
    assert inner.closed


def test_reader_error_is_raised_where_the_pipeline_reads() -> None:
    source = PrefetchSource(CountingSource(10, fail_at=4))
    assert [source.read().index for _ in range(4)] == [0, 1, 2, 3]
    with pytest.raises(BgblurError, match="frame 4 is broken"):
        source.read()
    assert source.read() is None
    source.close()


def test_stopping_early_joins_the_reader_even_with_a_full_queue() -> None:
    before = threading.active_count()
    source = PrefetchSource(CountingSource(1000), depth=2)
    assert source.read().index == 0
    source.close()
    assert threading.active_count() == before


def test_prepare_runs_in_the_reader_thread_on_every_frame_in_order() -> None:
    threads = set()

    def prepare(frame: Frame) -> int:
        threads.add(threading.current_thread().name)
        return int(frame.image[0, 0, 0]) * 10

    source = PrefetchSource(CountingSource(40), prepare=prepare)
    pairs = []
    while (item := source.read_prepared()) is not None:
        pairs.append((item[0].index, item[1]))
    source.close()
    assert pairs == [(i, i * 10) for i in range(40)]
    assert threads == {"bgblur-decoder"}  # not the caller's thread: the model works one frame ahead


def test_an_error_in_prepare_is_raised_where_the_pipeline_reads() -> None:
    def prepare(frame: Frame) -> None:
        if frame.index == 3:
            raise BgblurError("model setup is wrong")

    source = PrefetchSource(CountingSource(10), prepare=prepare)
    for _ in range(3):
        assert source.read_prepared() is not None
    with pytest.raises(BgblurError, match="model setup"):
        source.read_prepared()
    assert source.read_prepared() is None
    source.close()


def test_a_stage_over_a_preparing_stage_gets_its_result_in_its_own_thread() -> None:
    seen = []

    def first(frame: Frame) -> int:
        return frame.index * 10

    def second(frame: Frame, earlier: int) -> int:
        seen.append(threading.current_thread().name)
        return earlier + 1

    model = PrefetchSource(CountingSource(30), prepare=first, name="model")
    matte = PrefetchSource(model, prepare=second, name="matte")
    pairs = []
    while (item := matte.read_prepared()) is not None:
        pairs.append((item[0].index, item[1]))
    matte.stop()
    model.close()
    assert pairs == [(i, i * 10 + 1) for i in range(30)]
    assert set(seen) == {"bgblur-matte"}


def test_an_error_in_the_earlier_stage_reaches_the_reader_of_the_last() -> None:
    def first(frame: Frame) -> int:
        if frame.index == 5:
            raise BgblurError("the model broke on frame 5")
        return frame.index

    model = PrefetchSource(CountingSource(20), prepare=first, name="model")
    matte = PrefetchSource(model, prepare=lambda frame, earlier: earlier, name="matte")
    assert [matte.read_prepared()[1] for _ in range(5)] == [0, 1, 2, 3, 4]
    with pytest.raises(BgblurError, match="broke on frame 5"):
        matte.read_prepared()
    matte.stop()
    model.close()
