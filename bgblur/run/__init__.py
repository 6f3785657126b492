"""Running a pipeline over a source: :func:`run_pipeline` picks the file loop (every frame) or the live loop (the
camera's rate). The per-frame step both use is :class:`~bgblur.run.pipeline.Pipeline`."""

from __future__ import annotations

from bgblur.run.files import run_file
from bgblur.run.live import LiveLoop
from bgblur.run.pipeline import Outputs, Pipeline
from bgblur.run.stats import StageTimes
from bgblur.sources import Source

__all__ = ["Outputs", "Pipeline", "StageTimes", "run_pipeline"]


def run_pipeline(
    pipeline: Pipeline,
    source: Source,
    *,
    progress: bool = True,
    hold_still: bool = False,
    sync: bool = False,
    max_cpu: float | None = None,
    pace: bool = False,
) -> None:
    """Run until the source ends or the user quits (``pipeline.controls.stop``). ``sync`` and ``max_cpu`` are for
    live sources (see :class:`~bgblur.run.live.LiveLoop`); ``pace`` delivers a video file's frames at its own rate
    (a live source always comes at its own)."""
    if source.is_live:
        LiveLoop(pipeline, source, sync=sync, max_cpu=max_cpu).run()
    else:
        run_file(pipeline, source, progress=progress, hold_still=hold_still, pace=pace)
