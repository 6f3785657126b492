"""--max-cpu: the live loop runs the model on fewer frames when the process uses more CPU than allowed, and shows
every frame all the same."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from util import read_video

from bgblur.build import build_pipeline
from bgblur.cli import parse_options
from bgblur.frames import Controls
from bgblur.run import run_pipeline
from bgblur.run.live import CpuBudget
from bgblur.sources.simulated import SimulatedCamera

SECONDS = 4
FPS = 30


def live_run(testdata: Path, output: Path, *options: str):
    """A simulated 30 fps camera for 4 s through the pipeline the command builds, recorded to ``output``."""
    image = cv2.imread(str(testdata / "images" / "cihp_two_men_at_computer.jpg"))
    camera = SimulatedCamera([image, cv2.flip(image, 1)], fps=FPS, frame_limit=SECONDS * FPS)
    args = parse_options(["--no-window", "--output", str(output), *options])
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
    # (Without --max-cpu there is no budget at all: the stride rule itself is checked below, on given clocks.)


class Clocks:
    """A wall clock and a CPU clock that move only when told: the budget's rule, checked without waiting."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def run(self, seconds: float, cores: float) -> None:
        self.wall += seconds
        self.cpu += seconds * cores


@pytest.mark.parametrize(
    ("cores_used", "strides"),
    [
        (0.9, [2, 3, 4, 5, 6, 6, 6]),  # over a 0.5 budget: one more frame between model runs each second, at most 6
        (0.45, [1, 1, 1, 1, 1, 1, 1]),  # within it: every frame
    ],
)
def test_the_stride_follows_the_cpu_used_second_by_second(cores_used: float, strides: list[int]) -> None:
    clocks = Clocks()
    budget = CpuBudget(0.5, wall_clock=lambda: clocks.wall, cpu_clock=lambda: clocks.cpu)
    seen = []
    for _ in strides:
        clocks.run(0.5, cores_used)
        budget.update()  # half a second: too soon to judge
        clocks.run(0.5, cores_used)
        budget.update()
        seen.append(budget.stride)
    assert seen == strides


def test_the_stride_steps_back_once_well_under_the_budget() -> None:
    clocks = Clocks()
    budget = CpuBudget(0.5, wall_clock=lambda: clocks.wall, cpu_clock=lambda: clocks.cpu)
    seen = []
    for cores_used in (0.9, 0.9, 0.9, 0.42, 0.3, 0.3, 0.3):  # 0.42: under the budget, but not well under (0.8x)
        clocks.run(1.0, cores_used)
        budget.update()
        seen.append(budget.stride)
    assert seen == [2, 3, 4, 4, 3, 2, 1]
