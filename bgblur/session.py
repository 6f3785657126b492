"""One file's or one camera's run over an opened source, the same for a single run (``cli``) and each file of a
folder run (``batch.task``): build the pipeline, run it, close it, and say if the model failed on any frame."""

from __future__ import annotations

import contextlib
import sys

from bgblur.build import build_pipeline
from bgblur.errors import BgblurError
from bgblur.frames import Controls
from bgblur.options import Options
from bgblur.run import Pipeline, run_pipeline
from bgblur.sources import Source
from bgblur.threads import opencv_threads


def run_source(
    options: Options, source: Source, controls: Controls, window=None, *, progress: bool = True, stats: bool = False
) -> Pipeline:
    """Run ``source`` through the pipeline ``options`` build; its outputs are closed (published) whatever happens.
    ``stats``: print the stage times at the end. Raises BgblurError when the model failed on some frames (those were
    blurred whole, so the run itself went on)."""
    pipeline = build_pipeline(options, source, controls, window)
    try:
        with opencv_threads(source.info.is_live, source.info.still):
            run_pipeline(
                pipeline,
                source,
                progress=progress,
                hold_still=options.virtual_camera is not None,
                sync=options.sync,
                max_cpu=options.max_cpu,
                pace=options.paced,
            )
    finally:
        if stats:
            model = f"model: {pipeline.segmenter.name} on {pipeline.segmenter.runtime}"
            print(f"{model}\n{pipeline.times.summary()}", file=sys.stderr)
        # After a failed run, closing may fail for the same reason (the output's folder deleted): the run's error is
        # the one to say ("stopped after N frames", not "cannot finish").
        failed = isinstance(sys.exc_info()[1], (BgblurError, OSError))
        with contextlib.suppress(*((BgblurError, OSError) if failed else ())):
            pipeline.close()
    guarded = pipeline.segmenter
    if guarded.failures:
        raise BgblurError(
            f"the model failed on {guarded.failures} of {guarded.calls} frames; those frames were blurred whole"
        )
    return pipeline
