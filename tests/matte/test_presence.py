"""Person-presence check: the bundled face detector on real pictures, its box decoding, the region logic on
crafted mattes (with a stand-in detector), the pose model as body detector (end to end: e2e/test_presence_cli.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from bgblur.matte import MatteMaker
from bgblur.matte.detectors import INPUT_SIZE, Face, FaceDetector, blazeface_anchors, decode_faces
from bgblur.matte.presence import PresenceCheck
from bgblur.models import BUILTIN_MODELS
from bgblur.segmenters.single_pass import SinglePassSegmenter

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

    def detect(self, image: np.ndarray) -> list[Face]:
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


def test_face_mode_keeps_the_region_with_a_face_and_drops_the_other() -> None:
    assert _kept(PresenceCheck("face", FakeDetector([FACE_ON_PERSON])), PERSON, CUP) == [True, False]
    assert _kept(PresenceCheck("face", FakeDetector([])), PERSON, CUP) == [False, False]


def test_a_face_just_above_the_region_counts() -> None:
    # The model missed the head; the matte starts at the shoulders, just below the face box.
    shoulders = (40, 115, 120, 240)
    assert _kept(PresenceCheck("face", FakeDetector([FACE_ON_PERSON])), shoulders, CUP) == [True, False]
    far_below = (40, 200, 120, 240)
    assert _kept(PresenceCheck("face", FakeDetector([FACE_ON_PERSON])), far_below) == [False]


def test_face_or_body_also_keeps_a_faceless_region_at_the_lower_edge() -> None:
    # Someone seen from behind at a desk: no face, but the body runs out of the bottom of the frame.
    assert _kept(PresenceCheck("face-or-body", FakeDetector([])), PERSON, CUP) == [True, False]


def test_a_face_is_remembered_for_memory_frames_then_forgotten() -> None:
    detector = FakeDetector([FACE_ON_PERSON])
    check = PresenceCheck("face", detector, memory=10, every=1)
    assert _kept(check, PERSON) == [True]
    detector.faces = []  # the person turns away
    # Still, and in a fresh region each frame (no continuity from a moved mask): the remembered box holds it.
    for _ in range(10):
        assert _kept(check, PERSON) == [True]
    assert _kept(check, PERSON) == [False]


def test_a_region_continuing_a_kept_one_stays_while_the_face_is_remembered() -> None:
    detector = FakeDetector([FACE_ON_PERSON])
    check = PresenceCheck("face", detector, memory=30, every=1)
    assert _kept(check, PERSON) == [True]
    detector.faces = []
    # Turned away and walking right, 10 px a frame: the remembered face box is soon left behind.
    for step in range(1, 12):
        x0, y0, x1, y1 = PERSON
        assert _kept(check, (x0 + 10 * step, y0, x1 + 10 * step, y1)) == [True], step
    # A new region where the person has not been is not a continuation.
    assert _kept(check, (10, 10, 30, 40)) == [False]


def test_the_detector_runs_every_nth_frame_and_after_reset() -> None:
    detector = FakeDetector([FACE_ON_PERSON])
    check = PresenceCheck("face", detector, every=3)
    for _ in range(7):
        _kept(check, PERSON)
    assert detector.calls == 3  # frames 0, 3, 6
    check.reset()
    _kept(check, PERSON)
    assert detector.calls == 4


def test_main_person_is_the_largest_region_with_evidence() -> None:
    prob = np.zeros((H, W), np.float32)
    prob[100:200, 20:70] = 1.0  # a smaller person with a face
    prob[20:220, 120:300] = 1.0  # a larger thing without one
    check = PresenceCheck("face", FakeDetector([Face(0.9, (30, 100, 60, 130))]))
    alpha = MatteMaker(0.5, people="main", refine=False, temporal=False, presence=check)(prob, IMAGE)
    assert alpha[150, 45] == 255 and alpha[120, 200] == 0


def test_bad_presence_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="presence"):
        PresenceCheck("off", FakeDetector())


class FakeBody:
    """Says "a body" for boxes whose centre lies inside one of its rectangles, and records what it was asked."""

    def __init__(self, *bodies: tuple[int, int, int, int]) -> None:
        self.bodies = list(bodies)
        self.asked: list[tuple[float, ...]] = []

    def is_body(self, image: np.ndarray, box: tuple[float, float, float, float]) -> bool:
        self.asked.append(box)
        cx, cy = _centre(box)
        return any(x0 <= cx <= x1 and y0 <= cy <= y1 for x0, y0, x1, y1 in self.bodies)


DANCER = (40, 20, 120, 160)  # a full body, no face found, not reaching the lower edge


def test_face_or_pose_keeps_a_faceless_body_and_drops_the_cup() -> None:
    body = FakeBody(DANCER)
    check = PresenceCheck("face-or-pose", FakeDetector([]), body=body)
    assert _kept(check, DANCER, CUP) == [True, False]
    # Asked once per region, about the region's own box (in the frame's pixels; here they are the same).
    assert sorted(body.asked) == sorted([(40, 20, 120, 160), (180, 60, 260, 180)])


def test_face_or_pose_asks_the_body_model_only_what_nothing_else_explains() -> None:
    body = FakeBody(DANCER, CUP)
    check = PresenceCheck("face-or-pose", FakeDetector([FACE_ON_PERSON]), body=body, body_min_area=0.01)
    speck = (300, 5, 305, 10)  # 25 px: under 1 % of the frame, never worth a model run
    assert _kept(check, PERSON, CUP, speck) == [True, True, False]
    assert body.asked == [(180, 60, 260, 180)]  # not the person with a face, not the speck


def test_a_confirmed_body_is_remembered_between_detector_frames() -> None:
    body = FakeBody(DANCER)
    check = PresenceCheck("face-or-pose", FakeDetector([]), body=body, every=3, memory=5)
    assert _kept(check, DANCER) == [True]
    body.bodies = []  # the model would now say no; it is not asked until the next detector frame
    for _ in range(2):
        assert _kept(check, (10, 10, 30, 40), DANCER) == [False, True]
    assert len(body.asked) == 1
    check.reset()
    assert _kept(check, DANCER) == [False]


def test_body_detector_tells_people_from_a_cup(testdata: Path, pose_model: Path) -> None:
    from bgblur.matte.detectors import BodyDetector

    body = BodyDetector(pose_model)
    images = testdata / "images"
    for name in ("davis_breakdance_flare_f010", "davis_rollerblade_f010", "cihp_two_men_at_computer"):
        mask = cv2.imread(str(testdata / "masks" / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
        x, y, w, h = cv2.boundingRect((mask > 127).astype(np.uint8))  # the people, as a matte region would be
        assert body.is_body(cv2.imread(str(images / f"{name}.jpg")), (x, y, x + w, y + h)), name
    cup = cv2.imread(str(images / "noperson_coffee_cup.jpg"))
    matte = SinglePassSegmenter(BUILTIN_MODELS["selfie"]).segment(cup)
    matte = cv2.resize(matte, (cup.shape[1], cup.shape[0]))
    x, y, w, h = cv2.boundingRect((matte > 0.5).astype(np.uint8))  # what the selfie model calls a person
    assert w * h > 0.1 * cup.shape[0] * cup.shape[1]
    assert body.score(cup, (x, y, x + w, y + h)) < 0.1
    assert not body.is_body(cup, (0, 0, cup.shape[1], cup.shape[0]))
