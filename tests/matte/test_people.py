"""``--presence people`` (the default for one-pass models) and ``--people main`` (the main person, whole):
the presence rule on crafted mattes with stand-in detectors (decided per picture, faces verified, memory that
forgets), and the measured targets on the shared developer set (floors just below what was measured)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from bgblur.matte.people import body_person, face_person, merge_people
from bgblur.matte.presence import PresenceCheck
from bgblur.matte.regions import keep_regions

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Found:
    """What a detector gives: score, box and keypoints (hip centre, a point on the body circle)."""

    score: float
    box: tuple[float, float, float, float]
    keypoints: tuple[tuple[float, float], ...] = ()


class Script:
    """A stand-in detector that answers from a list, one answer per call (the last one repeats)."""

    def __init__(self, *answers: list[Found]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def detect(self, image: np.ndarray, half: np.ndarray | None = None) -> list[Found]:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return answer


def body(score: float, x: float, y: float, height: float) -> Found:
    """A standing person whose head-and-shoulders box starts at (x, y), ``height`` px tall in all."""
    head = height / 5
    return Found(score, (x, y, x + head, y + head), ((x + head / 2, y + height / 2), (x + head / 2, y)))


class Verdict:
    """A stand-in face verifier: every face is (or is not) a human one; counts its calls."""

    def __init__(self, human: bool) -> None:
        self.human = human
        self.calls = 0

    def is_face(self, image: np.ndarray, face: Found) -> bool:
        self.calls += 1
        return self.human


def people_check(person=None, faces=(), **options) -> PresenceCheck:
    """``--presence people``'s configuration with stand-ins: faces verified as human unless told otherwise (from
    20 px: the crafted frames are 200 px, a fifth of a real one)."""
    options.setdefault("verifier", Verdict(True))
    options.setdefault("min_face", 20)
    return PresenceCheck(person, faces, **options)


IMAGE = np.zeros((200, 200, 3), np.uint8)


def matte_with(*rects: tuple[int, int, int, int]) -> np.ndarray:
    """A boolean matte (200x200, the frame's own size) with these filled rectangles (x0, y0, x1, y1)."""
    mask = np.zeros((200, 200), bool)
    for x0, y0, x1, y1 in rects:
        mask[y0:y1, x0:x1] = True
    return mask


TORSO = (60, 40, 100, 180)  # the person's head and body
ARM = (110, 90, 125, 130)  # their hand, cut off from the body by something in front
CUP = (160, 150, 195, 195)  # an object the model calls person, no detection near it
CUT = (60, 40, 100, 200)  # the person's head and body, cut by the picture's lower border


def kept(mask: np.ndarray, people: str, check: PresenceCheck) -> set[tuple[int, int, int, int]]:
    keep = keep_regions(mask, people, 0.001, check, IMAGE)
    result = set()
    for rect in (TORSO, ARM, CUP, (10, 40, 40, 150)):
        x0, y0, x1, y1 = rect
        if mask[y0:y1, x0:x1].all() and keep is not None and keep[y0:y1, x0:x1].all():
            result.add(rect)
    return result


def test_all_decides_per_picture_a_person_found_keeps_every_region() -> None:
    # The cup stays too: regions without a detection of their own are as often a second person seen from behind.
    check = people_check(Script([body(0.95, 65, 40, 140)]), still=True)
    assert kept(matte_with(TORSO, ARM, CUP), "all", check) == {TORSO, ARM, CUP}
    assert [(p.core, p.main) for p in check.found()] == [((65, 40, 93, 68), False)]


def test_main_is_the_whole_person_not_only_the_largest_blob() -> None:
    check = people_check(Script([body(0.95, 65, 40, 140)]), still=True)
    assert kept(matte_with(TORSO, ARM, CUP), "main", check) == {TORSO, ARM}


def test_main_is_the_biggest_person_and_all_is_everyone() -> None:
    small = (10, 40, 40, 150)
    people = [body(0.97, 15, 40, 110), body(0.9, 65, 40, 140)]  # the small one scores higher
    main = people_check(Script(people), still=True)
    assert kept(matte_with(TORSO, small), "main", main) == {TORSO}
    assert [p.main for p in main.found()] == [False, True]  # what the frame's analysis carries
    assert kept(matte_with(TORSO, small), "all", people_check(Script(people), still=True)) == {TORSO, small}


def test_without_any_detection_nothing_is_kept() -> None:
    assert kept(matte_with(TORSO, CUP), "all", people_check(Script([]), still=True)) == set()


def test_a_verified_face_alone_keeps_the_body_below_it_as_the_main_person() -> None:
    face = Found(0.9, (68, 42, 92, 66))
    check = people_check(None, (Script([face]),), still=True)
    assert kept(matte_with(TORSO, CUP), "main", check) == {TORSO}


def test_a_face_the_verifier_rejects_is_no_evidence_on_its_own() -> None:
    face = Found(0.95, (68, 42, 92, 66))  # a cat's face, say: the detector is sure, the landmark model is not
    verifier = Verdict(False)
    check = people_check(None, (Script([face]),), verifier=verifier, still=True)
    assert kept(matte_with(TORSO, CUP), "all", check) == set()
    assert verifier.calls == 1 and check.found() == ()
    # The same face on a person the person detector finds: that person counts (a small face fails, too).
    check = people_check(Script([body(0.6, 65, 40, 140)]), (Script([face]),), verifier=Verdict(False), still=True)
    assert kept(matte_with(CUT, CUP), "all", check) == {TORSO, CUP}


def test_in_video_the_verifier_is_asked_about_a_face_in_place_once_a_second() -> None:
    """A person at the camera: the face found at each look (every 3rd frame) where the verifier passed it is that
    face again; it is asked again after the memory (30 frames), or at once where a face turns up somewhere else."""
    face, moved = Found(0.9, (68, 42, 92, 66)), Found(0.9, (120, 42, 144, 66))
    verifier = Verdict(True)
    check = people_check(None, (Script([face]),), verifier=verifier, every=3, memory=30)
    for _ in range(60):  # two seconds: 20 looks
        assert kept(matte_with(TORSO), "all", check) == {TORSO}
    assert verifier.calls == 2  # frames 0 and 33 (the first look after the memory), not 20
    check = people_check(None, (Script([face], [moved]),), verifier=verifier, every=3, memory=30)
    for _ in range(6):
        kept(matte_with(TORSO), "all", check)
    assert verifier.calls == 4  # the moved face is another face: asked
    # A face the verifier fails is asked about at every look (a cat's face must fail each time to stay out).
    fails = Verdict(False)
    check = people_check(None, (Script([face]),), verifier=fails, every=3, memory=30)
    for _ in range(9):
        assert kept(matte_with(TORSO), "all", check) == set()
    assert fails.calls == 3


def test_a_face_under_40_px_is_not_asked_and_counts_only_with_a_person_detection() -> None:
    small = Found(0.95, (70, 42, 100, 72))  # 30 px: too coarse for the landmark model
    verifier = Verdict(True)
    check = people_check(None, (Script([small]),), verifier=verifier, still=True, min_face=40)
    assert kept(matte_with(TORSO), "all", check) == set() and verifier.calls == 0
    check = people_check(Script([body(0.6, 65, 40, 140)]), (Script([small]),), still=True, min_face=40)
    assert kept(matte_with(CUT), "all", check) == {TORSO}  # the weak detection, where the matte agrees


def test_on_a_still_a_weak_detection_counts_only_where_the_matte_agrees() -> None:
    weak = [body(0.4, 65, 40, 140)]
    assert kept(matte_with(CUT), "all", people_check(Script(weak), still=True)) == {TORSO}  # cut by the border
    # The same weak detection over empty matte: the cup elsewhere is not explained by it.
    assert kept(matte_with(CUP), "all", people_check(Script([body(0.4, 10, 10, 60)]), still=True)) == set()
    # Below clear (0.9) a detection is weak on a still too: an animal's head scores 0.70.
    assert kept(matte_with(CUP), "all", people_check(Script([body(0.7, 10, 10, 60)]), still=True)) == set()
    assert kept(matte_with(CUP), "all", people_check(Script([body(0.92, 10, 10, 60)]), still=True)) == {CUP}


def test_on_a_still_a_weak_detection_counts_for_someone_the_picture_cuts_not_for_a_subject_inside_it() -> None:
    def present(detection: Found, *rects: tuple[int, int, int, int]) -> bool:
        keep = keep_regions(matte_with(*rects), "all", 0.001, people_check(Script([detection]), still=True), IMAGE)
        return keep is not None and bool(keep.any())

    whole = body(0.7, 80, 60, 60)  # body square 75 px (of 200), inside the picture: a horse standing in a playground
    assert not present(whole, (80, 60, 95, 120))
    assert present(whole, (80, 60, 95, 200))  # the same, its region cut by the lower border
    assert not present(body(0.7, 150, 60, 100), (150, 60, 170, 160))  # its body square past the picture: no cut
    assert not present(body(0.7, 80, 60, 40), (80, 60, 90, 100))  # small (a 50 px body square): no cut either
    assert present(body(0.92, 80, 60, 60), (80, 60, 95, 120))  # clear: counts whole and inside the picture


def test_in_video_a_middling_detection_needs_several_looks_and_a_clear_one_counts_at_once() -> None:
    middling = people_check(Script([body(0.7, 65, 40, 140)]), every=1)
    assert kept(matte_with(TORSO), "all", middling) == set()  # one look at 0.7: an animal does that
    scores = []
    for _ in range(4):
        scores.append(bool(kept(matte_with(TORSO), "all", middling)))
    assert scores == [False, False, False, False]  # 0.7 look after look stays below the 0.8 mean
    steady = people_check(Script([body(0.85, 65, 40, 140)]), every=1)
    assert [bool(kept(matte_with(TORSO), "all", steady)) for _ in range(3)] == [False, False, True]
    clear = people_check(Script([body(0.95, 65, 40, 140)]), every=1)
    assert kept(matte_with(TORSO), "all", clear) == {TORSO}


def test_in_video_a_person_is_remembered_between_detector_frames_and_forgotten_after_memory() -> None:
    check = people_check(Script([body(0.95, 65, 40, 140)], []), every=1, memory=3)
    assert kept(matte_with(TORSO), "all", check) == {TORSO}
    for _ in range(3):
        assert kept(matte_with(TORSO), "all", check) == {TORSO}  # not seen any more, still remembered
    assert kept(matte_with(TORSO), "all", check) == set()


def test_in_video_weak_looks_at_a_counted_place_do_not_keep_it_counted() -> None:
    # Found once clearly (a cow at 0.92, say), then only middling looks: after ``memory`` frames it is forgotten
    # although the detector still fires there — a lapse of evidence returns the frame to blurred.
    check = people_check(Script([body(0.92, 65, 40, 140)], [body(0.6, 65, 40, 140)]), every=1, memory=3)
    assert [bool(kept(matte_with(TORSO), "all", check)) for _ in range(6)] == [True, True, True, True, False, False]


def test_a_face_inside_a_body_detection_is_the_same_person() -> None:
    person = body_person(body(0.9, 65, 40, 140))
    face = face_person(0.8, (68, 42, 90, 64))
    elsewhere = face_person(0.8, (150, 20, 170, 40))
    assert len(merge_people([person], [face])) == 1
    assert len(merge_people([person], [face, elsewhere])) == 2


# --- the developer set ---------------------------------------------------------------------------------------

sys.path.insert(0, str(REPO / "scripts"))


@pytest.fixture(scope="module")
def runs(evaluation):
    # (the cows clip's own test below runs it frame by frame; here main needs the clips with people)
    return {
        "default": evaluation(),
        "main": evaluation("--people", "main", videos=("davis_hike", "talking_head_bookshelf")),
    }


def _images(run, with_people: bool):
    return [s for s in run.values() if s.kind == "image" and s.has_person == with_people]


def test_default_iou_on_photos_with_people_meets_its_floor(runs) -> None:
    assert np.mean([s.iou for s in _images(runs["default"], True)]) >= IOU_FLOOR


def test_default_false_person_on_photos_without_people_stays_under_its_ceiling(runs) -> None:
    assert np.mean([s.false_person for s in _images(runs["default"], False)]) <= FALSE_PERSON_CEILING
    assert np.mean([s.false_person for s in _images(runs["main"], False)]) <= FALSE_PERSON_CEILING


def test_no_photo_without_people_shows_a_person_under_main(runs) -> None:
    """At most 1 % called person on every photo with nobody under ``main`` too (tests/scripts/test_evaluate.py checks
    the default): the horse showed 0.079 while a weak BlazePose detection counted on the matte's agreement alone."""
    for s in _images(runs["main"], False):
        assert s.false_person <= 0.01, s.name


def test_the_main_person_is_whole_on_every_one_person_photo(runs) -> None:
    """Files keep everyone by default; ``main`` (the live default) must not cut the one person either: no one-person
    photo scores lower under ``main`` than under ``all`` (measured: the same on four, the window 0.895 -> 0.966)."""
    one = [s for s in _images(runs["default"], True) if s.people == 1]
    assert len(one) == 5
    for s in one:
        assert runs["main"][s.name].iou >= s.iou - 0.001, s.name


def test_every_photo_with_people_keeps_someone(runs) -> None:
    for s in _images(runs["default"], True):
        assert s.iou >= 0.3, s.name  # nobody real is dropped whole


def test_hike_clip_and_talking_head_hold_today_s_figures(runs) -> None:
    for name in ("default", "main"):
        assert runs[name]["davis_hike"].iou >= HIKE_IOU_FLOOR
        assert runs[name]["talking_head_bookshelf"].flicker <= 0.0011


def test_cows_clip_is_blurred_after_the_first_second(testdata: Path) -> None:
    import evaluate

    from bgblur.cli import parse_options

    evaluator = evaluate.Evaluator(parse_options([]), None)
    evaluator.matte_maker.reset()
    capture = cv2.VideoCapture(str(testdata / "videos" / "davis_cows_noperson.mp4"))
    fps = capture.get(cv2.CAP_PROP_FPS)
    index, worst = 0, 0.0
    while True:
        ok, image = capture.read()
        if not ok:
            break
        alpha, _, _ = evaluator.run_frame(image, evaluator.video_segmenter, evaluator.matte_maker)
        if index >= fps:
            worst = max(worst, float((alpha > 0.5).mean()))
        index += 1
    capture.release()
    assert index > fps
    assert worst == 0.0  # measured 0 (a cow's face at frames 9-10 fails verification: test_presence.py)


# Measured on the 24-photo developer set: IoU 0.763 (files' default, everyone; --presence off 0.762), false person
# 0.000 (the horse's 0.079 gone), hike 0.896; floors just below.
IOU_FLOOR = 0.758
FALSE_PERSON_CEILING = 0.01
HIKE_IOU_FLOOR = 0.892


def test_in_video_a_sure_face_lets_the_costly_detectors_rest_for_five_looks_in_six() -> None:
    face = Found(0.9, (70.0, 45.0, 90.0, 65.0))
    person, face_detector = Script([body(0.95, 65, 40, 140)]), Script([face])
    check = people_check(person, (face_detector,), every=1)
    for _ in range(18):
        assert kept(matte_with(TORSO, ARM), "all", check) == {TORSO, ARM}  # the body's extent keeps the hand
    assert (face_detector.calls, person.calls) == (18, 3)  # the cheap face look every time, the rest every 6th
    faceless = people_check(Script([body(0.95, 65, 40, 140)]), (Script([]),), every=1)
    for _ in range(3):
        kept(matte_with(TORSO), "all", faceless)
    assert faceless.person.calls == 3  # no face: every look is a full one


def test_the_person_and_full_range_detectors_rest_on_different_looks() -> None:
    # Each costs most of a look at 720p (person ~12 ms, full-range ~5): on one frame they made the step's peak.
    face = Found(0.9, (70.0, 45.0, 90.0, 65.0))
    log: list[tuple[int, str]] = []
    now = [0]  # the look being made

    class Logged(Script):
        def __init__(self, name: str, *answers: list[Found]) -> None:
            super().__init__(*answers)
            self.name = name

        def detect(self, image: np.ndarray, half: np.ndarray | None = None) -> list[Found]:
            log.append((now[0], self.name))
            return super().detect(image, half)

    person, sure, far = Logged("person", [body(0.95, 65, 40, 140)]), Logged("sure", [face]), Logged("far", [])
    check = people_check(person, (sure, far), every=1)
    for look in range(18):
        now[0] = look
        assert kept(matte_with(TORSO, ARM), "all", check) == {TORSO, ARM}
    assert (sure.calls, person.calls) == (18, 3)
    assert far.calls == 4  # the first look (no sure face yet), then once in six
    person_looks = {n for n, name in log if name == "person"}
    far_looks = {n for n, name in log if name == "far"}
    assert person_looks & far_looks == {0}  # only the first look, before any sure face, runs everything


class Recorder:
    """A stand-in second look: remembers the boxes it was asked about, adds nothing."""

    def __init__(self) -> None:
        self.asked: list[list] = []

    def __call__(self, image: np.ndarray, probability: np.ndarray, boxes: list) -> np.ndarray:
        self.asked.append(list(boxes))
        return probability


def test_the_matte_step_looks_again_around_each_person_and_region_and_says_whom_it_found() -> None:
    from bgblur.matte import MatteMaker

    probability = matte_with(TORSO, CUP).astype(np.float32)
    crops = Recorder()
    check = people_check(Script([body(0.95, 65, 40, 140)]), still=True)
    maker = MatteMaker(0.5, refine=False, temporal=False, presence=check, crops=crops)
    alpha, people = maker.analyse(probability, IMAGE)
    assert alpha[100, 80] == 255 and alpha[170, 175] == 255  # the person, and the cup: decided per picture
    assert [p.core for p in people] == [(65, 40, 93, 68)]
    (boxes,) = crops.asked
    assert boxes[0] == check.tracks[0].extent  # the person's whole body first, then the matte's own regions
    assert sorted(boxes[1:]) == sorted([(60.0, 40.0, 100.0, 180.0), (160.0, 150.0, 195.0, 195.0)])
    # Nobody found: no second look, everything blurred.
    maker = MatteMaker(0.5, refine=False, temporal=False, presence=people_check(Script([]), still=True), crops=crops)
    alpha, people = maker.analyse(probability, IMAGE)
    assert len(crops.asked) == 1 and not alpha.any() and people == ()
