"""bgblur end to end, as a user runs it: real clips and photos in, files out, read back and inspected."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from util import (
    assert_blurred_everywhere,
    assert_error,
    bgblur_env,
    person_regions,
    read_video,
    run_bgblur,
    sharpness,
)

pytestmark = pytest.mark.e2e  # slow, end to end: real processes, windows, streams


@pytest.fixture(scope="module")
def hike(testdata: Path) -> Path:
    return testdata / "videos" / "davis_hike.mp4"


@pytest.fixture(scope="module")
def hike_run(hike: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("hike") / "out.mp4"
    matte = out.with_name("matte.mp4")
    result = run_bgblur("--source", hike, "--output", out, "--matte", matte, "--no-window")
    assert result.returncode == 0, result.stderr
    return out, matte


def test_video_keeps_every_frame_and_size(hike: Path, hike_run: tuple[Path, Path]) -> None:
    frames_in = read_video(hike)
    out, matte = hike_run
    frames_out = read_video(out)
    assert len(frames_out) == len(frames_in) == 80
    assert frames_out[0].shape == frames_in[0].shape
    mattes = read_video(matte)
    assert len(mattes) == 80 and mattes[0].shape == frames_in[0].shape
    assert not list(out.parent.glob(".*partial*"))  # partial files moved into place


def test_video_person_sharp_background_blurred(hike: Path, hike_run: tuple[Path, Path], testdata: Path) -> None:
    frames_in, frames_out = read_video(hike), read_video(hike_run[0])
    masks = testdata / "videos" / "davis_hike_masks"
    for index in (5, 40, 75):
        truth = cv2.imread(str(masks / f"{index:05d}.png"), cv2.IMREAD_GRAYSCALE)
        inside, outside = person_regions(truth)
        diff = cv2.absdiff(frames_in[index], frames_out[index]).max(axis=2)
        # Inside the person the output is the input up to codec noise (mp4v re-encode).
        assert np.median(diff[inside > 0]) <= 6, index
        # The room is clearly blurred: most of its fine detail is gone.
        assert sharpness(frames_out[index], outside) < 0.25 * sharpness(frames_in[index], outside), index


def test_matte_video_marks_the_person(hike_run: tuple[Path, Path], testdata: Path) -> None:
    mattes = read_video(hike_run[1])
    truth = cv2.imread(str(testdata / "videos" / "davis_hike_masks" / "00040.png"), cv2.IMREAD_GRAYSCALE)
    inside, outside = person_regions(truth)
    grey = mattes[40][..., 0]
    assert np.mean(grey[inside > 0] > 127) > 0.8
    assert np.mean(grey[outside > 0] < 128) > 0.9


def test_image_output_and_matte(testdata: Path, tmp_path: Path) -> None:
    source = testdata / "images" / "davis_breakdance_flare_f010.jpg"
    out, matte = tmp_path / "out.png", tmp_path / "matte.png"
    result = run_bgblur("--source", source, "--output", out, "--matte", matte, "--no-window")
    assert result.returncode == 0, result.stderr
    image, output = cv2.imread(str(source)), cv2.imread(str(out))
    assert output.shape == image.shape
    alpha = cv2.imread(str(matte), cv2.IMREAD_UNCHANGED)
    assert alpha.dtype == np.uint8 and alpha.shape == image.shape[:2]
    truth = cv2.imread(str(testdata / "masks" / "davis_breakdance_flare_f010.png"), cv2.IMREAD_GRAYSCALE) > 127
    predicted = alpha > 127
    assert (predicted & truth).sum() / (predicted | truth).sum() > 0.6
    inside, outside = person_regions(truth.astype(np.uint8) * 255)
    assert np.median(cv2.absdiff(image, output).max(axis=2)[inside > 0]) <= 2
    assert sharpness(output, outside) < 0.25 * sharpness(image, outside)


@pytest.mark.parametrize(
    "name",
    [
        "noperson_rooftop_view",
        "noperson_coffee_cup",  # the selfie model calls the cup a person; --presence people (default) blurs it
    ],
)
def test_no_person_is_blurred_everywhere(name: str, testdata: Path, tmp_path: Path) -> None:
    source = testdata / "images" / f"{name}.jpg"
    out = tmp_path / "out.png"
    result = run_bgblur("--source", source, "--output", out, "--no-window")
    assert result.returncode == 0, result.stderr
    image, output = cv2.imread(str(source)), cv2.imread(str(out))
    assert_blurred_everywhere(image, output)


def test_mask_rcnn_video_end_to_end(hike: Path, mrcnn_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.avi"
    result = run_bgblur("--mask-rcnn", mrcnn_dir, "--detections", "5", "--source", hike, "--output", out, "--no-window")
    assert result.returncode == 0, result.stderr
    frames = read_video(out)
    assert len(frames) == 80 and frames[0].shape == (480, 854, 3)


def test_mask_rcnn_image_with_matte(mrcnn_dir: Path, testdata: Path, tmp_path: Path) -> None:
    source = testdata / "images" / "cihp_two_men_at_computer.jpg"
    out, matte = tmp_path / "out.jpg", tmp_path / "matte.png"
    result = run_bgblur("--mask-rcnn", mrcnn_dir, "--source", source, "--output", out, "--matte", matte, "--no-window")
    assert result.returncode == 0, result.stderr
    assert cv2.imread(str(out)).shape == cv2.imread(str(source)).shape
    assert cv2.imread(str(matte), cv2.IMREAD_UNCHANGED).shape == cv2.imread(str(source)).shape[:2]


@pytest.mark.tensorflow  # (without the importer that is what the line says: test_without_tensorflow)
def test_missing_mask_rcnn_folder(tmp_path: Path, testdata: Path) -> None:
    result = run_bgblur(
        "--mask-rcnn",
        tmp_path / "nope",
        "--source",
        testdata / "images" / "noperson_coffee_cup.jpg",
        "--output",
        tmp_path / "o.png",
        "--no-window",
    )
    assert_error(result, 1, "mask r-cnn folder not found", "bgblur --download mask-rcnn")


def test_missing_file_inside_mask_rcnn_folder(mrcnn_dir: Path, tmp_path: Path, testdata: Path) -> None:
    broken = tmp_path / "mrcnn"
    broken.mkdir()
    for name in ("mask_rcnn_inception_v2_coco_2018_01_28.pbtxt", "object_detection_classes_coco.txt"):
        shutil.copy(mrcnn_dir / name, broken / name)
    result = run_bgblur(
        "--mask-rcnn",
        broken,
        "--source",
        testdata / "images" / "noperson_coffee_cup.jpg",
        "--output",
        tmp_path / "o.png",
        "--no-window",
    )
    assert_error(result, 1, "frozen_inference_graph.pb", "bgblur --download mask-rcnn")


def test_unreadable_video(tmp_path: Path) -> None:
    bogus = tmp_path / "clip.mp4"
    bogus.write_text("this is not a video\n" * 100)
    result = run_bgblur("--source", bogus, "--output", tmp_path / "o.mp4", "--no-window")
    assert_error(result, 1, "cannot read video", "clip.mp4")
    assert bogus.read_text() == "this is not a video\n" * 100


def test_no_display_is_a_clear_error_not_an_abort(testdata: Path) -> None:
    env = bgblur_env()
    env.pop("DISPLAY", None)
    result = run_bgblur("--source", testdata / "images" / "noperson_coffee_cup.jpg", env=env)
    assert_error(result, 1, "no display", "--no-window")


def test_unreachable_display_is_a_clear_error(testdata: Path) -> None:
    result = run_bgblur("--source", testdata / "images" / "noperson_coffee_cup.jpg", env=bgblur_env(DISPLAY=":731"))
    assert_error(result, 1, "no display")


def test_usage_errors_exit_2() -> None:
    assert_error(run_bgblur("--kernel", "40"), 2, "--kernel", "even", "41")
    assert_error(run_bgblur("--confidence", "1.5"), 2, "--confidence", "outside 0..1")
    assert_error(run_bgblur("--no-window"), 2, "--output")


def test_version_and_help() -> None:
    result = run_bgblur("--version")
    assert result.returncode == 0 and result.stdout.startswith("bgblur ")
    result = run_bgblur("--help")
    assert result.returncode == 0 and "--mask-rcnn" in result.stdout and "privacy" in result.stdout
