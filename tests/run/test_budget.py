"""--max-cpu: the live loop runs the model on fewer frames when the process uses more CPU than allowed, and shows
every frame all the same."""

from __future__ import annotations

from pathlib import Path

import cv2
from util import read_video

from bgblur.build import build_pipeline
from bgblur.cli import build_parser
from bgblur.frames import Controls
from bgblur.run import run_pipeline
from bgblur.sources.simulated import SimulatedCamera

SECONDS = 4
FPS = 30


def live_run(testdata: Path, output: Path, *options: str):
    """A simulated 30 fps camera for 4 s through the pipeline the command builds, recorded to ``output``."""
    image = cv2.imread(str(testdata / "images" / "cihp_two_men_at_computer.jpg"))
    camera = SimulatedCamera([image, cv2.flip(image, 1)], fps=FPS, frame_limit=SECONDS * FPS)
    args = build_parser().parse_args(["--no-window", "--output", str(output), *options])
    pipeline = build_pipeline(args, camera, Controls())
    run_pipeline(pipeline, camera, progress=False, max_cpu=args.max_cpu)
    pipeline.close()
    return pipeline.times, read_video(output)


def test_an_impossible_budget_thins_the_model_out_and_every_frame_is_still_shown(testdata: Path, tmp_path) -> None:
    times, written = live_run(testdata, tmp_path / "live.avi", "--max-cpu", "0.01")  # below what decoding costs
    shown = times.counts["frames shown"]
    calls = times.counts["inference calls"]
    # Every frame shown is recorded, held as long as it was shown: the file keeps the camera's timeline.
    assert len(written) == SECONDS * FPS and shown >= 0.8 * SECONDS * FPS  # (a loaded machine may drop a few)
    # The stride grows by one a second (1, 2, 3, 4): about 62 of 120 frames; never below every 6th frame.
    assert shown / 6 <= calls <= 0.75 * shown, (calls, shown)
    assert max(times.measures["model stride under --max-cpu"]) >= 3
    assert "warp" not in times.samples  # frames in between keep the newest matte as it is


def test_without_a_budget_the_model_sees_most_frames(testdata: Path, tmp_path) -> None:
    times, _ = live_run(testdata, tmp_path / "live.avi")
    assert times.counts["inference calls"] > 0.75 * times.counts["frames shown"]
    assert "model stride under --max-cpu" not in times.measures
