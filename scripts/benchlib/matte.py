"""Micro-benchmark of scripts/bench.py: the matte step alone (presence, second look, smoothing, refinement) over
a clip's frames, as files run it, with the model's answers computed up front."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchlib.measure import clip_frames
from bgblur.build import build_matte_maker, build_segmenter
from bgblur.cli import parse_options


def matte_benchmark(clip: Path, frames: int = 144, rounds: int = 2) -> None:
    """CPU time (this process, so a loaded machine counts less) of ``MatteMaker.analyse`` per frame, in order over
    ``frames`` frames (the detectors run on every 3rd, the costly ones on every 9th: the mean and max show them);
    each round a fresh matte step, the first one a warm-up."""
    options = parse_options(["--source", str(clip)])
    segmenter = build_segmenter(options)
    images = clip_frames(clip, frames)
    answers = [segmenter.segment(image) for image in images]
    samples: list[float] = []
    for _ in range(rounds + 1):
        maker = build_matte_maker(options, segmenter)
        samples = []
        for image, answer in zip(images, answers, strict=True):
            start = time.process_time()
            maker.analyse(answer, image)
            samples.append(time.process_time() - start)
    ms = np.array(samples) * 1000
    h, w = images[0].shape[:2]
    print(f"matte step {w}x{h}, default file options, CPU ms per frame over {len(ms)} frames (last of {rounds}):")
    print(f"  median {np.median(ms):.2f}  mean {ms.mean():.2f}  p90 {np.quantile(ms, 0.9):.2f}  max {ms.max():.2f}\n")
