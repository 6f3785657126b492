"""Segmenters: one protocol (:class:`~bgblur.segmenters.base.Segmenter`), one file per model family, and a
registry from a model's name to the factory that builds it (as rembg's ``new_session``).

- :class:`~bgblur.segmenters.single_pass.SinglePassSegmenter` runs any one-pass model described by a JSON model
  card (the bundled MediaPipe selfie models are two such cards);
- :class:`~bgblur.segmenters.maskrcnn.MaskRCNNSegmenter` runs the instance-segmentation Mask R-CNN;
- wrappers: :class:`~bgblur.segmenters.tiled.TiledSegmenter` (a tiled second look),
  :class:`~bgblur.segmenters.fail_closed.FailClosedSegmenter` (a failure blurs the frame whole).

Model families are imported when first built, so ``bgblur --help`` never loads a network.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bgblur.errors import UsageError
from bgblur.models import BUILTIN_MODELS, DEFAULT_MODEL
from bgblur.segmenters.base import Segmenter

__all__ = ["Segmenter", "create_segmenter"]


def _single_pass(path: Path, runtime: str = "auto", threads: int | None = 1) -> Segmenter:
    from bgblur.segmenters.single_pass import SinglePassSegmenter

    return SinglePassSegmenter(path, runtime=runtime, threads=threads)


def _mask_rcnn(folder: Path, **options) -> Segmenter:
    from bgblur.segmenters.maskrcnn import MaskRCNNSegmenter

    return MaskRCNNSegmenter(folder, **options)


# Family name → factory(path, **options); --model picks "single-pass", --mask-rcnn picks "mask-rcnn".
FAMILIES: dict[str, Callable[..., Segmenter]] = {"single-pass": _single_pass, "mask-rcnn": _mask_rcnn}


def create_segmenter(
    model: str | None = None,
    mask_rcnn: str | Path | None = None,
    *,
    confidence: float = 0.5,
    people: str = "main",
    detections: int = 20,
    input_width: int = 600,
    runtime: str = "auto",
    threads: int | None = 1,
) -> Segmenter:
    """Build the segmenter the options ask for: Mask R-CNN from a folder, or a named/bundled/card model.
    ``runtime`` and ``threads`` go to a single-pass model (see :mod:`bgblur.segmenters.runtimes`); Mask R-CNN
    always runs on ``cv2.dnn``."""
    if mask_rcnn is not None and model is not None:
        raise ValueError("give model or mask_rcnn, not both")  # (the command line's own check: bgblur.options)
    if mask_rcnn is not None:
        options = {"confidence": confidence, "people": people, "detections": detections, "input_width": input_width}
        return FAMILIES["mask-rcnn"](Path(mask_rcnn), **options)
    name = model or DEFAULT_MODEL
    path = BUILTIN_MODELS.get(name)
    if path is None:
        path = Path(name)
        if not path.suffix:
            known = ", ".join(BUILTIN_MODELS)
            raise UsageError(f"unknown model {name!r}: use one of {known}, or a model file with a .json card beside it")
    return FAMILIES["single-pass"](path, runtime=runtime, threads=threads)
