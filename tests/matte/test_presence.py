"""Person-presence check: the bundled face detector and face verifier on real pictures, the box decoding, the face
modes' configurations of the one presence rule on crafted mattes (with a stand-in detector), the pose model as
body detector (end to end: e2e/test_presence_cli.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from bgblur.matte import MatteMaker
from bgblur.matte.detectors import (
    INPUT_SIZE,
    Face,
    FaceDetector,
    FaceVerifier,
    FullRangeFaceDetector,
    blazeface_anchors,
    decode_faces,
)
from bgblur.matte.presence import PresenceCheck
from bgblur.matte.regions import keep_regions

# The left woman's face in cihp_two_women_graduation (500x752), read off the picture: x 305..400, y 210..310.
GRADUATION_FACE = (305, 210, 400, 310)


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def _centre(box: tuple[float, ...]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def test_detector_finds_the_face_in_a_real_photo(detector: FaceDetector, testdata: Path) -> None:
    image = cv2.imread(str(testdata / "images" / "cihp_two_women_graduation.jpg"))
    faces = detector.detect(image)
    assert faces, "no face found"
    x0, y0, x1, y1 = GRADUATION_FACE
    cx, cy = _centre(faces[0].box)
    assert x0 <= cx <= x1 and y0 <= cy <= y1, faces[0]
    assert 40 <= faces[0].box[2] - faces[0].box[0] <= 140  # a face-sized box, not the whole picture


@pytest.mark.parametrize("name", ["noperson_rooftop_view", "noperson_coffee_cup"])
def test_detector_finds_no_face_where_there_is_none(detector: FaceDetector, testdata: Path, name: str) -> None:
    assert detector.detect(cv2.imread(str(testdata / "images" / f"{name}.jpg"))) == []


def test_anchors_and_decoding_of_synthetic_outputs() -> None:
    anchors = blazeface_anchors()
    assert anchors.shape == (896, 2)
    np.testing.assert_allclose(anchors[0], [1 / 32, 1 / 32])  # stride 8: 16x16 grid, 2 per cell
    np.testing.assert_allclose(anchors[2], [3 / 32, 1 / 32])
    np.testing.assert_allclose(anchors[512], [1 / 16, 1 / 16])  # stride 16: 8x8 grid, 6 per cell
    np.testing.assert_allclose(anchors[512 + 6], [3 / 16, 1 / 16])
    scores = np.full((1, 896, 1), -10.0, np.float32)
    boxes = np.zeros((1, 896, 16), np.float32)
    scores[0, 600] = 3.0
    boxes[0, 600, :4] = [8, -4, 32, 48]  # centre offset (8, -4) px, size 32x48 px
    boxes[0, 601, :4] = [8, -4, 32, 48]  # the same box again with a lower score: suppressed
    scores[0, 601] = 1.0
    found = decode_faces(scores, boxes, anchors, 0.5)
    assert len(found) == 1
    score, box = found[0]
    ax, ay = anchors[600]
    cx, cy = ax + 8 / INPUT_SIZE, ay - 4 / INPUT_SIZE
    np.testing.assert_allclose(box, [cx - 16 / 128, cy - 24 / 128, cx + 16 / 128, cy + 24 / 128], atol=1e-6)
    assert score == pytest.approx(1 / (1 + np.exp(-3.0)))


class FakeDetector:
    """Returns the faces it is told to, and counts its calls."""

    def __init__(self, faces: list[Face] | None = None) -> None:
        self.faces = faces or []
        self.calls = 0

    def detect(self, image: np.ndarray, half: np.ndarray | None = None) -> list[Face]:
        self.calls += 1
        return list(self.faces)


H, W = 240, 320
IMAGE = np.zeros((H, W, 3), np.uint8)


def _labels(*rects: tuple[int, int, int, int]) -> tuple[np.ndarray, int]:
    mask = np.zeros((H, W), np.uint8)
    for x0, y0, x1, y1 in rects:
        mask[y0:y1, x0:x1] = 1
    count, labels = cv2.connectedComponents(mask, connectivity=8)
    return labels, count


def _kept(check: PresenceCheck, *rects: tuple[int, int, int, int]) -> list[bool]:
    """Whether each rectangle's region is kept (rectangles must not touch)."""
    labels, count = _labels(*rects)
    keep = check.keep(labels, count, IMAGE)
    return [bool(keep[labels[(y0 + y1) // 2, (x0 + x1) // 2]]) for x0, y0, x1, y1 in rects]


PERSON = (40, 60, 120, 240)  # reaches the lower edge, like a torso
CUP = (180, 60, 260, 180)  # floats in the picture
FACE_ON_PERSON = Face(0.9, (60, 70, 100, 110))


def face_check(detector: FakeDetector, **options) -> PresenceCheck:
    """``--presence face``'s configuration (faces only; the stand-in faces go unverified)."""
    return PresenceCheck(None, (detector,), **options)


def test_face_mode_keeps_the_picture_when_a_face_is_found_and_nothing_without() -> None:
    assert _kept(face_check(FakeDetector([FACE_ON_PERSON])), PERSON, CUP) == [True, True]  # decided per picture
    assert _kept(face_check(FakeDetector([])), PERSON, CUP) == [False, False]


def test_face_or_body_also_counts_a_region_at_the_lower_edge() -> None:
    # Someone seen from behind at a desk: no face, but the body runs out of the bottom of the frame.
    assert _kept(face_check(FakeDetector([]), lower_edge=True), PERSON, CUP) == [True, True]
    assert _kept(face_check(FakeDetector([]), lower_edge=True), CUP) == [False]


def test_a_face_is_remembered_for_memory_frames_then_forgotten() -> None:
    detector = FakeDetector([FACE_ON_PERSON])
    check = face_check(detector, memory=10, every=1)
    assert _kept(check, PERSON) == [True]
    detector.faces = []  # the person turns away
    for _ in range(10):
        assert _kept(check, PERSON) == [True]
    assert _kept(check, PERSON) == [False]


def test_main_follows_a_person_who_turned_away_and_walks_off_while_remembered() -> None:
    detector = FakeDetector([FACE_ON_PERSON])
    check = face_check(detector, memory=30, every=1)
    other = (250, 10, 300, 60)  # someone else, smaller, no face of their own

    def main_kept(person: tuple[int, int, int, int]) -> list[bool]:
        labels, _ = _labels(person, other)
        keep = keep_regions(labels > 0, "main", 0.001, check, IMAGE)
        return [bool(keep[(y0 + y1) // 2, (x0 + x1) // 2]) for x0, y0, x1, y1 in (person, other)]

    assert main_kept(PERSON) == [True, False]
    detector.faces = []
    # Turned away and walking right, 10 px a frame: the remembered face box is soon left behind.
    for step in range(1, 12):
        x0, y0, x1, y1 = PERSON
        assert main_kept((x0 + 10 * step, y0, x1 + 10 * step, y1)) == [True, False], step


def test_the_detector_runs_every_nth_frame_and_after_reset() -> None:
    detector = FakeDetector([FACE_ON_PERSON])
    check = face_check(detector, every=3)
    for _ in range(7):
        _kept(check, PERSON)
    assert detector.calls == 3  # frames 0, 3, 6
    check.reset()
    _kept(check, PERSON)
    assert detector.calls == 4


def test_main_person_is_the_one_with_evidence_not_the_largest_region() -> None:
    prob = np.zeros((H, W), np.float32)
    prob[100:200, 20:70] = 1.0  # a smaller person with a face
    prob[20:220, 120:300] = 1.0  # a larger thing without one
    check = face_check(FakeDetector([Face(0.9, (30, 100, 60, 130))]))
    alpha = MatteMaker(0.5, people="main", refine=False, temporal=False, presence=check)(prob, IMAGE)
    assert alpha[150, 45] == 255 and alpha[120, 200] == 0


def test_the_face_verifier_passes_human_faces_and_fails_the_same_place_on_a_blank(testdata: Path) -> None:
    verifier = FaceVerifier()
    image = cv2.imread(str(testdata / "images" / "cihp_three_kids_at_table.jpg"))
    faces = FaceDetector().detect(image)
    assert len(faces) == 3
    for face in faces:
        assert verifier.is_face(image, face) and verifier.score(image, face) >= 0.99  # measured 1.0 each
        assert not verifier.is_face(np.full_like(image, 128), face)  # the same place on a grey picture


def test_the_face_verifier_rejects_the_faces_the_full_range_detector_finds_on_cows(testdata: Path) -> None:
    capture = cv2.VideoCapture(str(testdata / "videos" / "davis_cows_noperson.mp4"))
    frames = [capture.read()[1] for _ in range(12)]
    capture.release()
    detector, verifier = FullRangeFaceDetector(), FaceVerifier()
    faces = [(frame, face) for frame in frames for face in detector.detect(frame)]
    assert faces  # measured: frames 9 and 10, 0.60 and 0.61 (a cow taken for a face)
    assert all(verifier.score(frame, face) < 0.1 for frame, face in faces)  # measured 0.004 and 0.000
