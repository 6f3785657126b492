"""The loop: source → segmenter → matte → effect → sinks, with the hotkeys and per-stage timings.

File sources are processed frame by frame, every frame. The window shows the result at its real size and
feeds keys back into :class:`Controls`.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from bgblur.matte import MatteMaker
from bgblur.prefetch import PrefetchSource
from bgblur.segmenters import Segmenter
from bgblur.sinks import WindowSink
from bgblur.sources import Frame, Source
from bgblur.views import FpsMeter, window_view

ESC = 27
HOTKEYS = {
    "p": "privacy",
    "b": "blur/replace",
    "a/d": "background",
    "[/]": "blur size",
    "m": "mirror",
    "v": "mask",
    "f": "fps",
    "h": "help",
    "q": "quit",
}  # the help line drawn with `h`
KERNEL_STEP = 10  # one [ or ] press: a visible change, and an even step keeps the kernel odd
KERNEL_LIMITS = (1, 501)
STATS_WINDOW = 10_000  # frames of timings kept for --stats


@dataclass
class Controls:
    """What the user can change while bgblur runs (keys in the window, signals from outside)."""

    privacy: bool = True
    mirror: bool = False
    show_help: bool = False
    stop: bool = False
    # Backgrounds: choice 0 is the blur, 1..choices-1 the replacements (see backgrounds.EffectSwitch).
    choice: int = 0
    choices: int = 1
    last_replacement: int = 1  # where ``b`` goes back to from the blur
    kernel: int = 41
    show_mask: bool = False
    show_fps: bool = False

    def handle_key(self, key: int) -> None:
        if key in (ord("q"), ESC, WindowSink.CLOSED):
            self.stop = True
        elif key in (ord("a"), ord("d")) and self.choices > 1:
            self.choice = (self.choice + (1 if key == ord("d") else -1)) % self.choices
            if self.choice:
                self.last_replacement = self.choice
        elif key == ord("b") and self.choices > 1:
            if self.choice:
                self.last_replacement, self.choice = self.choice, 0
            else:
                self.choice = min(self.last_replacement, self.choices - 1)
        elif key in (ord("["), ord("]")):
            step = KERNEL_STEP if key == ord("]") else -KERNEL_STEP
            self.kernel = min(max(self.kernel + step, KERNEL_LIMITS[0]), KERNEL_LIMITS[1]) | 1
        elif key == ord("v"):
            self.show_mask = not self.show_mask
        elif key == ord("f"):
            self.show_fps = not self.show_fps
        elif key == ord("p"):
            self.privacy = not self.privacy
        elif key == ord("m"):
            self.mirror = not self.mirror
        elif key == ord("h"):
            self.show_help = not self.show_help


@dataclass
class StageTimes:
    """Seconds spent per stage, per frame, plus per-frame measures (matte age) and counts (inference calls, frames
    shown) over the run's wall-clock time; summarised by ``--stats``. Safe to feed from several threads."""

    # The most recent STATS_WINDOW values of each, so a call of hours keeps its memory bounded.
    samples: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(lambda: deque(maxlen=STATS_WINDOW)))
    measures: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(lambda: deque(maxlen=STATS_WINDOW)))
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    started: float | None = None
    stopped: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.samples[stage].append(seconds)

    def measure(self, name: str, value: float) -> None:
        """Record a per-frame value that is not a stage time (e.g. matte age)."""
        with self._lock:
            self.measures[name].append(value)

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.counts[name] += amount

    def start(self) -> None:
        self.started = time.perf_counter()

    def stop(self) -> None:
        self.stopped = time.perf_counter()

    @property
    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.stopped or time.perf_counter()) - self.started

    def rate(self, name: str) -> float:
        """``counts[name]`` per second of the run."""
        return self.counts.get(name, 0) / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self) -> str:
        lines = [f"{'stage':<10} {'frames':>7} {'median ms':>10} {'mean ms':>9} {'max ms':>8}"]
        with self._lock:
            samples = {stage: list(values) for stage, values in self.samples.items()}
            measures = {name: list(values) for name, values in self.measures.items()}
            counts = dict(self.counts)
        for stage, values in samples.items():
            arr = np.array(values) * 1000
            lines.append(f"{stage:<10} {len(arr):>7} {np.median(arr):>10.2f} {arr.mean():>9.2f} {arr.max():>8.2f}")
        for name, values in measures.items():
            arr = np.array(values, float)
            lines.append(f"{name}: median {np.median(arr):.1f}, mean {arr.mean():.1f}, max {arr.max():.1f}")
        if self.elapsed > 0:
            for name, count in counts.items():
                lines.append(f"{name}: {count} ({count / self.elapsed:.1f}/s over {self.elapsed:.1f} s)")
        return "\n".join(lines)


def draw_status(image: np.ndarray, controls: Controls) -> np.ndarray:
    """The window's overlay: the current mode, and the key list when help is on. Never written to files."""
    text = "privacy ON" if controls.privacy else "privacy OFF"
    if controls.show_help:
        text += "  |  " + "  ".join(f"{k}: {v}" for k, v in HOTKEYS.items()) + "  Esc: quit"
    shown = image.copy()
    h = shown.shape[0]
    scale = max(0.4, min(0.6, shown.shape[1] / 1600))
    cv2.putText(shown, text, (8, h - 10), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(shown, text, (8, h - 10), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return shown


class TimedSource(Source):
    """Another file source whose reads are timed as the "capture" stage, in whichever thread reads it."""

    def __init__(self, inner: Source, times: StageTimes) -> None:
        self.inner = inner
        self.times = times
        self.is_live, self.description, self.fps, self.size, self.frame_count = (
            inner.is_live,
            inner.description,
            inner.fps,
            inner.size,
            inner.frame_count,
        )

    def read(self) -> Frame | None:
        start = time.perf_counter()
        frame = self.inner.read()
        if frame is not None:
            self.times.add("capture", time.perf_counter() - start)
        return frame

    def close(self) -> None:
        self.inner.close()


class Pipeline:
    """Pulls frames from ``source`` and hands each finished frame (and its matte) to the sinks."""

    def __init__(
        self,
        source: Source,
        segmenter: Segmenter,
        matte_maker: MatteMaker,
        effect: Callable[[np.ndarray, np.ndarray], np.ndarray],
        *,
        output=None,
        matte_output=None,
        window: WindowSink | None = None,
        controls: Controls | None = None,
        progress: bool = True,
        hold_still: bool = False,
        frame_range: tuple[int, int | None] = (0, None),
        sync: bool = False,
    ) -> None:
        self.source = source
        self.segmenter = segmenter
        self.matte_maker = matte_maker
        self.effect = effect
        self.output = output
        self.matte_output = matte_output
        self.window = window
        self.controls = controls or Controls()
        self.progress = progress
        self.hold_still = hold_still
        self.frame_range = frame_range  # (first, last) frame index processed, both included; others copied
        self.fps_meter = FpsMeter()
        self.sync = sync  # live sources: show each frame with its own matte (latency for exactness)
        self.times = StageTimes()
        self.frames_out = 0

    def _timed(self, stage: str, start: float) -> float:
        now = time.perf_counter()
        self.times.add(stage, now - start)
        return now

    def _in_range(self, frame: Frame) -> bool:
        first, last = self.frame_range
        return first <= frame.index and (last is None or frame.index <= last)  # --start/--end-frame

    def segment(self, frame: Frame) -> np.ndarray | None:
        """The model's person probability for ``frame``, or None for a frame outside the processed range."""
        if not self._in_range(frame):
            return None
        start = time.perf_counter()
        probability = self.segmenter.segment(frame.image)
        self._timed("inference", start)
        self.times.count("inference calls")
        return probability

    def process(self, frame: Frame, probability: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """One frame through segmenter → matte → effect (the model step skipped if ``probability`` is given, as
        computed ahead by :meth:`segment`). Returns the output picture and the alpha matte used."""
        alpha = None
        if not self._in_range(frame):
            return frame.image, None
        if self.controls.privacy or self.matte_output is not None or self.controls.show_mask:
            if probability is None:
                probability = self.segment(frame)
            start = time.perf_counter()
            alpha = self.matte_maker(probability, frame.image)
            self._timed("matte", start)
        start = time.perf_counter()
        result = self.finish(frame, alpha)
        self._timed("composite", start)
        return result, alpha

    def finish(self, frame: Frame, alpha: np.ndarray | None) -> np.ndarray:
        """The picture shown for ``frame``: the effect with ``alpha`` when privacy is on, mirrored if asked."""
        if self.controls.privacy:
            assert alpha is not None
            result = self.effect(frame.image, alpha)
        else:
            result = frame.image
        if self.controls.mirror:
            result = cv2.flip(result, 1)
        return result

    def _emit(self, frame: Frame, result: np.ndarray, alpha: np.ndarray | None, repeat: int = 1) -> None:
        """Write ``result`` (and its matte) ``repeat`` times — live output holds a frame as long as it was shown —
        and show it once."""
        start = time.perf_counter()
        matte8 = None
        if self.matte_output is not None:
            # A frame without a matte (outside --start/--end-frame) gets an empty one: the matte video keeps
            # every frame.
            matte8 = alpha if alpha is not None else np.zeros(result.shape[:2], np.uint8)
            if self.controls.mirror:
                matte8 = cv2.flip(matte8, 1)
        for _ in range(repeat):
            if self.output is not None:
                self.output.write(result)
            if matte8 is not None:
                self.matte_output.write(matte8)
        self.frames_out += 1
        start = self._timed("output", start)
        if self.window is not None:
            shown = window_view(result, alpha, self.controls, self.fps_meter)
            self.controls.handle_key(self.window.show(draw_status(shown, self.controls)))
            self._timed("display", start)

    def _read_inline(self, reader: Source) -> tuple[Frame, np.ndarray | None] | None:
        """The next frame of a one-picture source, segmented in this thread."""
        frame = reader.read()
        return None if frame is None else (frame, self.segment(frame))

    def run(self) -> None:
        """Run until the source ends or the user quits."""
        from tqdm import tqdm

        if self.source.is_live:
            from bgblur.live import LiveLoop

            LiveLoop(self, sync=self.sync).run()
            return
        # Default tqdm layout: frames done/total, elapsed<ETA, frames/s; disable=None hides it when not a TTY.
        bar = tqdm(
            total=self.source.frame_count,
            unit="frame",
            desc="bgblur",
            dynamic_ncols=True,
            disable=None if self.progress else True,
            leave=False,
            delay=0.5,
        )
        last: Frame | None = None
        probability: np.ndarray | None = None
        # Videos are decoded and segmented a few frames ahead in a thread (every frame, in order), so the model
        # works on the next frame while this one is composited; a picture needs no thread.
        reader = TimedSource(self.source, self.times)
        source = PrefetchSource(reader, prepare=self.segment) if self.source.frame_count != 1 else None
        self.times.start()
        try:
            while not self.controls.stop:
                item = source.read_prepared() if source is not None else self._read_inline(reader)
                if item is None:
                    break
                frame, probability = item
                last = frame
                self._emit(frame, *self.process(frame, probability))
                self.times.count("frames shown")
                bar.update(1)
        finally:
            self.times.stop()
            if source is not None:
                source.stop()
            bar.close()
        # A still picture stays on screen (and on the virtual camera, which repeats the last frame) until the
        # user quits; keys still apply to it.
        still = last is not None and not self.source.is_live and self.source.frame_count == 1
        while still and (self.window is not None or self.hold_still) and not self.controls.stop:
            if self.window is not None:
                # The picture does not change: the model's answer for it is kept, keys redo only matte and effect.
                result, alpha = self.process(last, probability)
                shown = window_view(result, alpha, self.controls, self.fps_meter)
                self.controls.handle_key(self.window.show(draw_status(shown, self.controls)))
            time.sleep(0.03)
