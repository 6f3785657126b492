"""``bgblur --doctor`` run as a user runs it, each problem made real: no display, no camera, a model file missing
or damaged, pyvirtualcam not importable, no ffmpeg, a v4l2loopback device without exclusive_caps."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bgblur.models import MASK_RCNN_TEXT_SHA256, POSE_MODEL_SHA256
from tests.util import REPO, bgblur_env, run_bgblur

NO_CAMERA = not glob.glob("/dev/video*")


def doctor(*args: str, cwd: Path | None = None, **env: str) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """Run ``bgblur --doctor``; returns the run and its lines by check name (``"camera"`` → ``"FAIL  camera: …"``)."""
    environ = bgblur_env(**env)
    for name in ("DISPLAY", "BGBLUR_CONFIG", "BGBLUR_MODELS", "BGBLUR_DOCTOR_ROOT"):
        if name not in env:
            environ.pop(name, None)
    environ.setdefault("XDG_CONFIG_HOME", str(cwd or REPO / ".no-such-config"))
    start = time.monotonic()
    result = run_bgblur("--doctor", *args, timeout=60, env=environ, cwd=cwd)
    assert time.monotonic() - start < 15, "the doctor must answer in a few seconds"
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    lines: dict[str, str] = {}
    for line in result.stdout.splitlines():
        status, rest = line[:4].strip(), line[6:]
        assert status in ("ok", "FAIL", "warn") or line.startswith("bgblur --doctor: "), line
        name = rest.split(":", 1)[0]
        lines.setdefault(name, line)  # the first line of a check
    return result, lines


def verdict(result: subprocess.CompletedProcess) -> str:
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.skipif(not NO_CAMERA, reason="this machine has a camera")
def test_this_machine_no_display_no_camera_names_each_missing_piece_and_exits_1(tmp_path: Path) -> None:
    result, lines = doctor(cwd=tmp_path)
    assert result.returncode == 1, result.stdout
    assert lines["OpenCV"].startswith("ok    OpenCV: ") and "window backend" in lines["OpenCV"]
    assert lines["display"].startswith("FAIL  display: none (DISPLAY is unset): ")
    assert "--no-window with --output or --virtual-camera" in lines["display"]
    assert lines["camera"].startswith("FAIL  camera: none found: no /dev/video* device: ")
    assert "--source FILE|URL" in lines["camera"]
    assert lines["model selfie"].startswith("ok    model selfie: loads")
    assert lines["inference"].startswith("ok    inference: LiteRT ")  # the test extra installs it
    assert verdict(result) == (
        "bgblur --doctor: a plain bgblur will not work here: fix display, camera (lines marked FAIL)"
    )


@pytest.mark.skipif(not NO_CAMERA, reason="this machine has a camera")
def test_a_display_is_found_the_camera_is_still_missing(xdisplay: str, tmp_path: Path) -> None:
    result, lines = doctor(cwd=tmp_path, DISPLAY=xdisplay)
    assert lines["display"] == f"ok    display: {xdisplay} answers"
    assert result.returncode == 1
    assert verdict(result).endswith("fix camera (lines marked FAIL)")


def test_an_unreachable_display_is_named(tmp_path: Path) -> None:
    _, lines = doctor(cwd=tmp_path, DISPLAY=":987")
    assert lines["display"].startswith("FAIL  display: none (DISPLAY=:987 does not answer): ")


def _package_without(tmp_path: Path, *names: str) -> Path:
    """A copy of the bgblur package with some bundled files removed or damaged, importable from the folder returned."""
    root = tmp_path / "site"
    shutil.copytree(REPO / "bgblur", root / "bgblur", ignore=shutil.ignore_patterns("__pycache__"))
    for name in names:
        (root / "bgblur" / "data" / name).unlink()
    return root


def test_missing_bundled_model_fails(tmp_path: Path) -> None:
    root = _package_without(tmp_path, "selfie_segmentation.tflite")
    result, lines = doctor(cwd=tmp_path, PYTHONPATH=str(root))
    assert result.returncode == 1
    line = lines["model selfie"]
    assert line.startswith("FAIL  model selfie: does not load (model file not found: ")
    assert line.endswith("pip install --force-reinstall bgblur (or pip install . in the checkout)")
    assert lines["model selfie-landscape"].startswith("ok    ")
    assert "model selfie" in verdict(result)


def test_damaged_bundled_face_model_is_a_warning(tmp_path: Path) -> None:
    root = _package_without(tmp_path)
    face = root / "bgblur" / "data" / "face_detection_short_range.tflite"
    face.write_bytes(face.read_bytes()[:5000])  # cut short, as by an interrupted copy
    result, lines = doctor(cwd=tmp_path, PYTHONPATH=str(root))
    assert lines["model face"].startswith("warn  model face: does not load (")
    assert lines["model selfie"].startswith("ok    model selfie: loads")
    assert "model face" not in verdict(result)


def _models_dir(tmp_path: Path, models_dir: Path) -> Path:
    folder = tmp_path / "models"
    mrcnn = folder / "mask-rcnn-coco"
    mrcnn.mkdir(parents=True)
    for name in MASK_RCNN_TEXT_SHA256:
        shutil.copy(models_dir / "mask-rcnn-coco" / name, mrcnn / name)
    (folder / "mediapipe-pose").mkdir()
    return folder


@pytest.mark.tensorflow  # (without the importer the Mask R-CNN line says that instead: test_without_tensorflow)
def test_missing_downloaded_models_are_warnings_with_the_download_command(tmp_path: Path, models_dir: Path) -> None:
    folder = _models_dir(tmp_path, models_dir)
    result, lines = doctor(cwd=tmp_path, BGBLUR_MODELS=str(folder))
    assert lines["Mask R-CNN"] == (
        f"warn  Mask R-CNN: frozen_inference_graph.pb missing in {folder}/mask-rcnn-coco: "
        "run: bgblur --download mask-rcnn (only needed for --mask-rcnn)"
    )
    assert lines["pose model"] == (
        f"warn  pose model: {folder}/mediapipe-pose/pose_landmark_full.tflite missing: "
        "run: bgblur --download pose (only needed for --presence face-or-pose)"
    )
    assert "Mask R-CNN" not in verdict(result) and "pose" not in verdict(result)


@pytest.mark.tensorflow  # (without the importer the Mask R-CNN line says that instead: test_without_tensorflow)
def test_damaged_downloaded_models_are_named_by_their_hash(tmp_path: Path, models_dir: Path) -> None:
    folder = _models_dir(tmp_path, models_dir)
    (folder / "mask-rcnn-coco" / "frozen_inference_graph.pb").write_bytes(b"\0" * 4096)
    (folder / "mediapipe-pose" / "pose_landmark_full.tflite").write_bytes(b"not the model")
    _, lines = doctor(cwd=tmp_path, BGBLUR_MODELS=str(folder))
    assert lines["Mask R-CNN"] == (
        f"warn  Mask R-CNN: {folder}/mask-rcnn-coco/frozen_inference_graph.pb is damaged or incomplete (sha1 "
        "differs): run: bgblur --download mask-rcnn (only needed for --mask-rcnn)"
    )
    assert lines["pose model"].startswith(
        f"warn  pose model: {folder}/mediapipe-pose/pose_landmark_full.tflite is damaged or incomplete (sha256 differs)"
    )
    assert lines["pose model"].endswith(": run: bgblur --download pose (only needed for --presence face-or-pose)")
    # One byte of a versioned text file changed is found too.
    labels = folder / "mask-rcnn-coco" / "object_detection_classes_coco.txt"
    labels.write_bytes(labels.read_bytes().replace(b"person", b"persom", 1))
    _, lines = doctor(cwd=tmp_path, BGBLUR_MODELS=str(folder))
    assert "object_detection_classes_coco.txt is damaged or incomplete (sha256 differs)" in lines["Mask R-CNN"]


def test_the_pose_model_as_pinned_is_ok(tmp_path: Path, models_dir: Path, pose_model: Path) -> None:
    folder = _models_dir(tmp_path, models_dir)
    shutil.copy(pose_model, folder / "mediapipe-pose" / "pose_landmark_full.tflite")
    _, lines = doctor(cwd=tmp_path, BGBLUR_MODELS=str(folder))
    assert (
        lines["pose model"] == f"ok    pose model: {folder}/mediapipe-pose/pose_landmark_full.tflite, sha256 as pinned"
    )
    assert POSE_MODEL_SHA256.startswith("e9a5c5cb")


def test_missing_pyvirtualcam_is_a_warning_with_the_install_command(tmp_path: Path) -> None:
    # A folder first on the path where "import pyvirtualcam" fails exactly as when it is not installed.
    blocker = tmp_path / "no-pyvirtualcam"
    blocker.mkdir()
    (blocker / "pyvirtualcam.py").write_text("raise ModuleNotFoundError(\"No module named 'pyvirtualcam'\")\n")
    result, lines = doctor(cwd=tmp_path, PYTHONPATH=os.pathsep.join([str(blocker), str(REPO)]))
    assert lines["virtual camera"] == (
        "warn  virtual camera: pyvirtualcam is not installed: pip install 'bgblur[vcam]' (or pip install "
        "pyvirtualcam), only needed for --virtual-camera"
    )
    assert "virtual camera" not in verdict(result)


def test_installed_pyvirtualcam_is_ok(tmp_path: Path) -> None:
    import pyvirtualcam  # noqa: F401  (the dev extra installs it: missing, the test fails rather than skips)

    _, lines = doctor(cwd=tmp_path)
    assert lines["virtual camera"].startswith("ok    virtual camera: pyvirtualcam ")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="v4l2loopback is Linux's")
def test_v4l2loopback_not_loaded(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "sys" / "module").mkdir(parents=True)
    _, lines = doctor(cwd=tmp_path, BGBLUR_DOCTOR_ROOT=str(root))
    assert lines["v4l2loopback"] == (
        "warn  v4l2loopback: module not loaded: sudo modprobe v4l2loopback devices=1 exclusive_caps=1 "
        "card_label=bgblur video_nr=10 (apt install v4l2loopback-dkms)"
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="v4l2loopback is Linux's")
def test_v4l2loopback_devices_and_which_has_exclusive_caps(tmp_path: Path) -> None:
    """A simulated /sys and /dev (BGBLUR_DOCTOR_ROOT): two loopback devices, only the second with exclusive_caps,
    and no real camera: the loopback devices are not taken for cameras."""
    root = tmp_path / "root"
    params = root / "sys" / "module" / "v4l2loopback" / "parameters"
    params.mkdir(parents=True)
    (params / "exclusive_caps").write_text("N,Y,N,N\n")
    (root / "dev").mkdir()
    for number, name in ((10, "bgblur"), (11, "OBS Cam")):
        device = root / "sys" / "devices" / "virtual" / "video4linux" / f"video{number}"
        device.mkdir(parents=True)
        (device / "name").write_text(f"{name}\n")
        (root / "dev" / f"video{number}").touch()
    result, _ = doctor(cwd=tmp_path, BGBLUR_DOCTOR_ROOT=str(root))
    found = [line for line in result.stdout.splitlines() if " v4l2loopback: " in line]
    assert found == [
        "warn  v4l2loopback: /dev/video10 (bgblur) has exclusive_caps off: Chrome, Zoom and Teams will not list it: "
        "sudo modprobe -r v4l2loopback && sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=bgblur "
        "video_nr=10",
        "ok    v4l2loopback: /dev/video11 (OBS Cam), exclusive_caps on: --virtual-camera /dev/video11",
    ]
    camera = next(line for line in result.stdout.splitlines() if " camera: " in line)
    assert camera.startswith("FAIL  camera: none found: no /dev/video* device (only the virtual camera /dev/video10,")


def test_no_ffmpeg_is_a_warning(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result, lines = doctor(cwd=tmp_path, PATH=str(empty))
    assert lines["ffmpeg"].startswith("warn  ffmpeg: not on PATH: videos written from files lose their sound: ")
    assert "apt install ffmpeg" in lines["ffmpeg"]
    assert "ffmpeg" not in verdict(result)


def test_the_defaults_file_read_is_shown(tmp_path: Path) -> None:
    config = tmp_path / "xdg" / "bgblur" / "config.toml"
    config.parent.mkdir(parents=True)
    _, lines = doctor(cwd=tmp_path, XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    assert (
        lines["defaults file"]
        == f"ok    defaults file: none ({config} does not exist; see README to keep your options)"
    )
    config.write_text('blur = "strong"\nvirtual_camera = "/dev/video10"\n')
    _, lines = doctor(cwd=tmp_path, XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    assert lines["defaults file"] == f"ok    defaults file: read {config}: blur, virtual-camera"
    other = tmp_path / "mine.toml"
    other.write_text('blur = "huge"\n')
    result, lines = doctor(cwd=tmp_path, BGBLUR_CONFIG=str(other), XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    assert lines["defaults file"].startswith(f'FAIL  defaults file: {other}:1: blur = "huge": argument --blur: ')
    assert "defaults file" in verdict(result)
    _, lines = doctor("--no-config", cwd=tmp_path, BGBLUR_CONFIG=str(other))
    assert lines["defaults file"] == "ok    defaults file: ignored (--no-config)"


def test_doctor_does_nothing_else(tmp_path: Path, testdata: Path) -> None:
    """--doctor exits after the report, whatever else the command line asks for."""
    out = tmp_path / "out.png"
    photo = testdata / "images" / "cihp_two_men_at_computer.jpg"
    result, _ = doctor("--source", str(photo), "--output", str(out), "--no-window", cwd=tmp_path)
    assert result.stdout.strip().splitlines()[-1].startswith("bgblur --doctor: ")
    assert not out.exists()
