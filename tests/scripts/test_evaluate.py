"""scripts/evaluate.py on the shared developer set: it runs, prints its table, and the default matte meets its floors.

Floors sit just below what was measured (see the report in issue 5); they catch regressions, they are not targets.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import evaluate  # noqa: E402

from bgblur.cli import parse_options  # noqa: E402


@pytest.fixture(scope="module")
def default_run(evaluation) -> tuple[list[evaluate.Score], dict[str, float]]:
    scores = list(evaluation().values())  # (the same run as tests/matte/test_people.py's: computed once)
    return scores, evaluate.summarise(scores)


def first_frames(clip: Path, out: Path, count: int) -> None:
    import cv2

    capture = cv2.VideoCapture(str(clip))
    writer = None
    for _ in range(count):
        ok, image = capture.read()
        assert ok, clip
        if writer is None:
            size = (image.shape[1], image.shape[0])
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), capture.get(cv2.CAP_PROP_FPS), size)
        writer.write(image)
    capture.release()
    writer.release()


def small_set(testdata: Path, folder: Path) -> Path:
    """A few items of the developer set, linked into ``folder`` in its layout: the script's output is checked here,
    its figures on the whole set by the ``evaluation`` fixture (run once for every test)."""
    names = ("cihp_two_men_at_computer", "noperson_coffee_cup", "davis_rollerblade_f010")
    for sub, suffix in (("images", ".jpg"), ("masks", ".png")):
        (folder / sub).mkdir(parents=True)
        for name in names:
            (folder / sub / f"{name}{suffix}").symlink_to(testdata / sub / f"{name}{suffix}")
    (folder / "videos").mkdir()
    (folder / "videos" / "davis_hike_masks").symlink_to(testdata / "videos" / "davis_hike_masks")
    for name, frames in (("davis_hike", 12), ("talking_head_bookshelf", 24)):  # the clips' first frames: quick
        first_frames(testdata / "videos" / f"{name}.mp4", folder / "videos" / f"{name}.mp4", frames)
    (folder / "portraits").mkdir()
    (folder / "portraits" / "astronaut.png").symlink_to(testdata / "portraits" / "astronaut.png")
    return folder


def test_evaluate_prints_its_table_and_writes_side_by_side_pictures(testdata: Path, tmp_path: Path) -> None:
    data, out = small_set(testdata, tmp_path / "data"), tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "evaluate.py"), "--data", str(data), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    table = result.stdout
    for name in ("cihp_two_men_at_computer", "noperson_coffee_cup", "davis_hike", "talking_head_bookshelf"):
        assert name in table
    assert "mean IoU" in table and "mean BF" in table and "false-person" in table and "flicker" in table
    assert "edge colour" in table and "astronaut" in table and "spill own: mean" in table
    assert "talking_head_bookshelf f12" in table  # the clip's middle frame
    pictures = sorted(p.name for p in out.glob("*.jpg"))
    assert "davis_rollerblade_f010.jpg" in pictures and len(pictures) == 3 + 2 * evaluate.VIDEO_PICTURES
    import cv2

    picture = cv2.imread(str(out / "noperson_coffee_cup.jpg"))
    assert picture.shape[1] == 3 * 600 * picture.shape[0] // 400  # three panels side by side


def test_the_default_meets_its_boundary_and_leak_floors(default_run) -> None:
    """The IoU floors of the default are tests/matte/test_people.py's; these are the figures only this script has."""
    _, summary = default_run
    assert summary["image_bf"] >= 0.57  # measured 0.586 on the 11 photos with people
    assert summary["video_bf"] >= 0.78  # measured 0.797 (naive 0.730)
    assert summary["video_leak"] <= 0.005  # measured 0.002


def test_no_person_images_stay_within_the_false_person_bound(default_run) -> None:
    scores, _ = default_run
    empty = {s.name: s.false_person for s in scores if s.kind == "image" and not s.has_person}
    assert len(empty) == 13 and {"noperson_darknet_dog", "noperson_darknet_horses", "noperson_rooftop_view"} <= set(
        empty
    )
    # Measured with the default presence check: 0.000 on all 13 photos (the horse at the playground kept 0.079 while
    # a weak detection on its head, 0.70, counted where the matte agreed; it stands whole in the picture).
    assert {name: fraction for name, fraction in empty.items() if fraction > 0.001} == {}


def test_temporal_smoothing_halves_flicker_on_the_talking_head(testdata: Path, default_run) -> None:
    scores, _ = default_run
    smoothed = next(s for s in scores if s.name == "talking_head_bookshelf").flicker
    evaluator = evaluate.Evaluator(parse_options(["--no-smooth"]), None)
    unsmoothed = evaluator.video(testdata / "videos" / "talking_head_bookshelf.mp4", None).flicker
    # Measured 0.00078 vs 0.00137 (0.0010 vs 0.0020 before the crops around every region steadied both).
    assert smoothed <= 0.6 * unsmoothed, (smoothed, unsmoothed)


def test_boundary_f_and_frame_metrics_on_known_masks() -> None:
    truth = np.zeros((100, 100), np.uint8)
    truth[20:80, 20:80] = 255
    exact = evaluate.frame_metrics((truth > 0).astype(np.float32), truth, 3)
    assert exact["iou"] == 1.0 and exact["bf"] == 1.0 and exact["leak"] == 0.0
    shifted = np.roll(truth > 0, 2, axis=1)
    assert evaluate.boundary_f(shifted, truth > 0, 3) == 1.0  # within tolerance
    assert evaluate.boundary_f(np.roll(truth > 0, 10, axis=1), truth > 0, 3) < 0.6
    empty = evaluate.frame_metrics(np.full((10, 10), 0.25, np.float32), np.zeros((10, 10), np.uint8), 3)
    assert empty == {"false_person": 0.0, "leak": 0.25}


def test_presence_face_or_body_removes_false_people_at_its_measured_iou_cost(testdata: Path) -> None:
    evaluator = evaluate.Evaluator(parse_options(["--presence", "face-or-body"]), None)
    scores = [
        evaluator.image(path, testdata / "masks" / f"{path.stem}.png")
        for path in sorted((testdata / "images").glob("*.jpg"))
    ]
    summary = evaluate.summarise(scores)
    # Measured 0.022 on the 13 photos without people (--presence off: 0.135): only the lamb, which fills the frame
    # down to its lower edge, is kept.
    assert summary["false_person"] <= 0.025
    # Measured 0.449 (off: 0.736): faceless full-body people (dancer, rollerblader, parkour) are dropped.
    assert summary["image_iou"] >= 0.44
    kept = {s.name: s.iou for s in scores if s.has_person}
    assert kept["cihp_two_men_at_computer"] >= 0.7  # seen from behind, kept by the lower-edge rule


def test_the_spill_solve_recovers_the_alpha_and_colour_composited() -> None:
    rng = np.random.default_rng(7)
    colour = rng.integers(0, 256, (40, 50, 3)).astype(np.float32)
    alpha = rng.random((40, 50)).astype(np.float32)
    first, second = (
        (alpha[..., None] * colour + (1 - alpha[..., None]) * np.array(b, np.float32) + 0.5).astype(np.uint8)
        for b in evaluate.SPILL_BACKGROUNDS
    )
    solved_alpha, solved_colour = evaluate.solve_composites(first, second)
    assert np.abs(solved_alpha - alpha).max() <= 1 / 255
    clear = alpha > 0.1  # an 8-bit composite keeps the colour of a nearly transparent pixel only roughly
    assert np.abs(solved_colour - colour)[clear].max() <= 12


@pytest.fixture(scope="module")
def astronaut(testdata: Path) -> tuple[np.ndarray, np.ndarray]:
    """The close portrait and bgblur's matte of it, as the bgblur command makes it for a picture."""
    import cv2

    image = cv2.imread(str(testdata / "portraits" / "astronaut.png"), cv2.IMREAD_COLOR)
    return image, evaluate.Evaluator(parse_options([]), None).picture_matte(image)


def test_the_astronauts_hair_edge_wears_her_colours_on_a_new_background(astronaut) -> None:
    image, matte = astronaut
    camera, camera_band = evaluate.edge_spill(image, matte, own_colours=False)
    own, own_band = evaluate.edge_spill(image, matte, own_colours=True)
    assert camera >= 0.5  # measured 0.60: the camera's edge pixels are half the grey backdrop
    assert own <= 0.20, own  # measured 0.13
    assert own <= 0.5 * camera
    assert own_band == camera_band > 1000  # the matte is the same: only the edge's colour changed


def test_the_astronauts_edge_spill_beats_pymattings_multilevel_estimate(astronaut) -> None:
    """pymatting's ``estimate_foreground_ml`` trusts the matte at its word, room-coloured edge pixels included."""
    from pymatting import estimate_foreground_ml

    from bgblur.effects.compose import composite

    image, matte = astronaut
    reference = estimate_foreground_ml(image / 255.0, matte / 255.0) * 255
    reference = np.clip(reference + 0.5, 0, 255).astype(np.uint8)
    first, second = (composite(reference, np.full_like(image, b), matte) for b in evaluate.SPILL_BACKGROUNDS)
    theirs, _ = evaluate.spill_of_composites(image, first, second)
    ours, _ = evaluate.edge_spill(image, matte, own_colours=True)
    assert ours <= 0.6 * theirs, (ours, theirs)  # measured 0.13 against 0.33
