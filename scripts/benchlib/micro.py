"""Micro-benchmarks of scripts/bench.py: the compositing stage alone (and the auto-framing beside it), and Mask
R-CNN's cost per setting."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from benchlib.measure import clip_frames
from bgblur.effects.backgrounds import ColourBackground
from bgblur.effects.blur import BlurBackground
from bgblur.effects.framing import AutoFramer, Window, crop_zoom
from bgblur.effects.replace import ReplaceBackground
from bgblur.segmenters import create_segmenter


def composite_benchmark(frame: np.ndarray, segmenter, matte_maker, effect, repeats: int = 200) -> None:
    """The compositing stage alone on ``frame`` with the model's soft matte, vs the naive way."""
    alpha = matte_maker(segmenter.segment(frame), frame)
    hard = alpha > 0.5

    def median_ms(work: Callable[[], object]) -> float:
        for _ in range(5):
            work()
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            work()
            samples.append(time.perf_counter() - start)
        return float(np.median(samples) * 1000)

    h, w = frame.shape[:2]
    framer = AutoFramer((w, h))
    for i in range(90):  # three seconds at 30 frames/s: the window has settled on the person
        framer.update(alpha, i / 30)
    between = Window(framer.window.x + 0.5, framer.window.y + 0.5, framer.window.width, framer.window.height)
    ticks = iter(range(90, 10**9))

    def framing(window: Window) -> object:
        return crop_zoom(frame, window), crop_zoom(alpha, window)

    ours = median_ms(lambda: effect(frame, alpha))
    at_rest = median_ms(lambda: framer(frame, alpha, next(ticks) / 30))  # the matte read, one crop, one resize
    moving = median_ms(lambda: framing(between))  # a crop between pixels, while the window moves
    naive = median_ms(lambda: np.where(hard[..., None], frame, cv2.GaussianBlur(frame, (41, 41), 0)))
    print(f"composite {w}x{h}, soft matte, kernel 41, median of {repeats}:")
    print(f"  bgblur BlurBackground (halo-free, soft) {ours:.2f} ms")
    print(f"  naive GaussianBlur 41 + np.where     {naive:.2f} ms")
    zoom = w / framer.window.width
    print(f"  --auto-frame at rest (zoom {zoom:.2f})    {at_rest:.2f} ms ({at_rest / ours:.2f}x the blur)")
    print(f"  --auto-frame moving (crop and its matte) {moving:.2f} ms ({moving / ours:.2f}x the blur)\n")
    effects_benchmark(frame, alpha, repeats)


def effects_benchmark(frame: np.ndarray, alpha: np.ndarray, repeats: int = 200) -> None:
    """Replace and blur on ``frame`` with the person's own colours at the edge and with the camera's, called in
    turn frame by frame (so a slow spell of the shared machine hits all alike): wall-clock median and the process's
    CPU time per call (all its threads: what a live run pays)."""
    effects = {
        f"{name} ({colours})": make(own)
        for name, make in (
            ("replace, a colour", lambda own: ReplaceBackground(ColourBackground((0, 255, 0)), own_colours=own)),
            ("replace + light wrap", lambda own: ReplaceBackground(ColourBackground((0, 255, 0)), 0.3, own)),
            ("blur 41", lambda own: BlurBackground(41, own_colours=own)),
        )
        for own, colours in ((False, "camera's colours"), (True, "own colours"))
    }
    wall: dict[str, list[float]] = {name: [] for name in effects}
    cpu = dict.fromkeys(effects, 0.0)
    for round_ in range(repeats + 5):
        for name, effect in effects.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            effect(frame, alpha)
            if round_ >= 5:  # warmed up: buffers allocated
                wall[name].append((time.perf_counter() - start) * 1000)
                cpu[name] += (time.process_time() - start_cpu) * 1000 / repeats
    h, w = frame.shape[:2]
    print(f"effects {w}x{h}, the model's soft matte, called in turn, {repeats} rounds")
    print("| effect | wall ms median | wall ms p10 | CPU ms per frame |")
    print("|---|---|---|---|")
    for name, values in wall.items():
        print(f"| {name} | {np.median(values):.2f} | {np.percentile(values, 10):.2f} | {cpu[name]:.2f} |")
    print(flush=True)


def detections_sweep(
    clip: Path,
    mrcnn: Path,
    settings: tuple[tuple[int, int], ...] = ((100, 600), (50, 600), (20, 600), (10, 600), (20, 400), (20, 800)),
    repeats: int = 3,
) -> None:
    """Mask R-CNN time per (detections kept, input width) (stand-in weights: same compute, meaningless boxes)."""
    frames = clip_frames(clip, repeats)
    print("Mask R-CNN (stand-in weights): forward + post-processing per 1280x720 frame")
    print("| detections | input width | median ms | frames/s | people found (mean) |")
    print("|---|---|---|---|---|")
    for count, width in settings:
        segmenter = create_segmenter(None, mrcnn, detections=count, input_width=width)
        segmenter.segment(frames[0])  # warm-up (allocations, first-run paths)
        samples, people = [], []
        for frame in frames:
            start = time.perf_counter()
            found = segmenter.detect(frame)
            segmenter.matte_from(found, (frame.shape[1], frame.shape[0]))
            samples.append(time.perf_counter() - start)
            people.append(sum(d.class_id == 0 for d in found))
        ms = float(np.median(samples) * 1000)
        print(f"| {count} | {width} | {ms:.0f} | {1000 / ms:.2f} | {np.mean(people):.1f} |")
    print(flush=True)
