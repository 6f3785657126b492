"""build.py's defaults, one row per kind of run: what a plain command builds for a picture, a video file and a
camera, with the bundled model, a model card and Mask R-CNN, and what each option changes.

Each row: the command-line words, the kind of source, then what the parts must be — the people mode, the presence
evidence (None: no check), the threshold, whether the tiled second look and the person crops are on."""

from __future__ import annotations

from pathlib import Path

import pytest
from model_files import PERSON, onnx_model, red_minus_blue, write_card

from bgblur.build import build_matte_maker, build_segmenter
from bgblur.cli import parse_options
from bgblur.matte.detectors import FullRangeFaceDetector, PersonDetector
from bgblur.segmenters.tiled import TiledSegmenter

PICTURE, FILE, CAMERA = "picture", "file", "camera"
KIND = {PICTURE: {"still": True, "live": False}, FILE: {"still": False, "live": False}, CAMERA: {"live": True}}


def evidence(presence) -> str | None:
    """What the presence check asks: None (no check), or the detectors and rules it was built with."""
    if presence is None:
        return None
    asked = ["face"]
    if isinstance(presence.person, PersonDetector):
        asked.append("person")
    if any(isinstance(face, FullRangeFaceDetector) for face in presence.faces):
        asked.append("full-range face")
    if presence.lower_edge:
        asked.append("lower edge")
    if presence.body is not None:
        asked.append("pose")
    return "+".join(asked)


PEOPLE_EVIDENCE = "face+person+full-range face"
# (words, source, people, presence evidence, threshold, tiles, crops)
ROWS = [
    ([], PICTURE, "all", PEOPLE_EVIDENCE, 0.5, True, True),
    ([], FILE, "all", PEOPLE_EVIDENCE, 0.5, False, True),
    ([], CAMERA, "main", PEOPLE_EVIDENCE, 0.5, False, False),
    (["--people", "main"], FILE, "main", PEOPLE_EVIDENCE, 0.5, False, True),
    (["--people", "all"], CAMERA, "all", PEOPLE_EVIDENCE, 0.5, False, False),
    (["--presence", "off"], FILE, "all", None, 0.5, False, True),
    (["--presence", "face"], FILE, "all", "face", 0.5, False, True),
    (["--presence", "face-or-body"], FILE, "all", "face+lower edge", 0.5, False, True),
    (["--threshold", "0.7"], FILE, "all", PEOPLE_EVIDENCE, 0.7, False, True),
    (["--no-tiles"], PICTURE, "all", PEOPLE_EVIDENCE, 0.5, False, True),
    (["--tiles"], FILE, "all", PEOPLE_EVIDENCE, 0.5, True, True),
    (["--no-person-crops"], FILE, "all", PEOPLE_EVIDENCE, 0.5, False, False),
    (["--person-crops"], CAMERA, "main", PEOPLE_EVIDENCE, 0.5, False, True),
    (["--model", "selfie-landscape"], CAMERA, "main", PEOPLE_EVIDENCE, 0.5, False, False),
]


@pytest.mark.parametrize(("words", "source", "people", "asked", "threshold", "tiles", "crops"), ROWS)
def test_what_a_run_builds(
    words: list[str], source: str, people: str, asked: str | None, threshold: float, tiles: bool, crops: bool
) -> None:
    options = parse_options(words)
    segmenter = build_segmenter(options, **KIND[source])
    maker = build_matte_maker(options, segmenter, **KIND[source])
    assert isinstance(segmenter, TiledSegmenter) == tiles
    assert (maker.people, evidence(maker.presence), maker.threshold, maker.crops is not None) == (
        people,
        asked,
        threshold,
        crops,
    )


def test_a_model_card_gives_its_threshold_unless_the_command_line_does(tmp_path: Path) -> None:
    model = onnx_model(tmp_path / "m.onnx", red_minus_blue(21, PERSON), post="softmax")
    write_card(model, {"input_size": [16, 12], "output": "probability", "person_class": PERSON, "threshold": 0.35})
    for words, expected in (([], 0.35), (["--threshold", "0.6"], 0.6)):
        options = parse_options(["--model", str(model), *words])
        assert build_matte_maker(options, build_segmenter(options)).threshold == expected


@pytest.mark.tensorflow
def test_mask_rcnn_has_no_presence_no_tiles_no_crops_and_its_own_threshold(mrcnn_dir: Path) -> None:
    for source in (PICTURE, FILE, CAMERA):
        options = parse_options(["--mask-rcnn", str(mrcnn_dir)])
        segmenter = build_segmenter(options, **KIND[source])
        maker = build_matte_maker(options, segmenter, **KIND[source])
        assert not isinstance(segmenter, TiledSegmenter)
        assert (maker.presence, maker.crops, maker.threshold) == (None, None, 0.3)
        assert maker.people == ("main" if source == CAMERA else "all")


def test_a_picture_runs_its_models_on_the_threads_opencv_has_and_a_video_on_one() -> None:
    """Nothing runs beside a picture's analysis, so its models take the process's OpenCV threads (all cores for one
    picture; one when batch workers share the machine, which sets OpenCV's count); a video's models keep one
    thread, beside decoding and compositing. A picture's crops are mirrored, a video's not."""
    import cv2

    from bgblur.threads import usable_cores

    before = cv2.getNumThreads()
    try:
        for opencv_threads in (1, 2):
            cv2.setNumThreads(opencv_threads)
            expected = min(opencv_threads, usable_cores())
            for source, threads, mirror in ((PICTURE, expected, True), (FILE, 1, False), (CAMERA, 1, None)):
                options = parse_options([])
                segmenter = build_segmenter(options, **KIND[source])
                maker = build_matte_maker(options, segmenter, **KIND[source])
                model = getattr(segmenter, "inner", segmenter)
                networks = [model, maker.presence.person, *maker.presence.faces, maker.presence.verifier.network]
                assert [getattr(n, "threads", None) or n.network.threads for n in networks] == [threads] * 5, source
                assert (maker.crops.mirror if maker.crops is not None else None) == mirror, source
    finally:
        cv2.setNumThreads(before)


def test_a_video_run_gives_opencv_one_thread_live_and_the_spare_cores_to_a_file() -> None:
    """A video's stages run in threads of their own; OpenCV's pool on top only adds CPU. A picture keeps the process's
    threads, a batch worker's share is never raised, and the count comes back after the run."""
    import cv2

    from bgblur.threads import opencv_threads, usable_cores

    before = cv2.getNumThreads()
    try:
        for share in (1, 2):
            cv2.setNumThreads(share)
            for live, still, inside in (
                (True, False, 1),
                (False, False, max(1, min(share, usable_cores() - 2))),
                (False, True, share),
            ):
                with opencv_threads(live, still):
                    assert cv2.getNumThreads() == inside, (share, live, still)
                assert cv2.getNumThreads() == share
    finally:
        cv2.setNumThreads(before)
