"""Micro-benchmarks of scripts/bench.py: the compositing stage alone (and the auto-framing beside it), and Mask
R-CNN's cost per setting."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from benchlib.measure import clip_frames
from bgblur.effects.framing import AutoFramer, Window, crop_zoom
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
