"""The wheel stands alone: ``python -m build`` without a warning, installed alone in a fresh virtual environment,
run from another folder, it blurs a photo (the room blurred, the person untouched) with its bundled model."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.util import REPO, person_regions, sharpness

PHOTO = "cihp_two_men_at_computer"
STAGES = ("sources", "segmenters", "matte", "effects", "sinks", "run")


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without what would let the checkout or its .venv leak into the fresh one."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # setuptools warns that it cannot byte-compile: not ours to hide
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``python -m build`` of the checkout (an sdist, then the wheel from it): the wheel and the build's log."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    wheels = list(out.glob("bgblur-*.whl"))
    assert len(wheels) == 1, list(out.iterdir())
    return wheels[0], log


def install_wheel(wheel: Path, env_dir: Path, lock_dir: Path) -> Path:
    """A fresh virtual environment with the wheel alone, its dependencies from the package index at the versions
    of requirements/dev.lock (as constraints: a release upstream cannot change what this test installs)."""
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    constraints = lock_dir / "constraints.txt"
    pins = re.findall(
        r"^([A-Za-z0-9_.-]+==[^ \\\n]+(?: ; [^\\\n]+)?)", (REPO / "requirements" / "dev.lock").read_text(), re.M
    )
    constraints.write_text("\n".join(pin.strip() for pin in pins) + "\n")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-c", str(constraints), str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    return python


@pytest.mark.e2e
@pytest.mark.slow
def test_the_build_gives_no_warning(built: tuple[Path, str]) -> None:
    _, log = built
    warnings = [line for line in log.splitlines() if re.search(r"warn", line, re.IGNORECASE)]
    assert not warnings, "\n".join(warnings)


@pytest.mark.e2e
@pytest.mark.slow
def test_the_wheel_carries_every_package_and_the_bundled_models_with_their_licence(built: tuple[Path, str]) -> None:
    wheel, _ = built
    names = set(zipfile.ZipFile(wheel).namelist())
    for stage in STAGES:
        assert f"bgblur/{stage}/__init__.py" in names, stage
    for name in ("cli.py", "build.py", "config.py", "doctor.py", "models.py"):
        assert f"bgblur/{name}" in names, name
    data = {name for name in names if name.startswith("bgblur/data/")}
    assert {f"bgblur/data/{name}" for name in (
        "selfie_segmentation.tflite", "selfie_segmentation.json", "selfie_segmentation_landscape.tflite",
        "selfie_segmentation_landscape.json", "face_detection_short_range.tflite", "LICENSE",
        "face_detection_full_range_sparse.tflite", "pose_detection.tflite",  # the bundled person detectors (LiteRT)
        "face_landmark.tflite",  # the face verifier (LiteRT)
        # Mask R-CNN's text graph, labels and colours, put beside the downloaded weights
        "mask-rcnn-coco/README.md", "mask-rcnn-coco/colors.txt", "mask-rcnn-coco/object_detection_classes_coco.txt",
        "mask-rcnn-coco/mask_rcnn_inception_v2_coco_2018_01_28.pbtxt",
    )} == data  # fmt: skip
    assert any(name.endswith(".dist-info/licenses/bgblur/data/LICENSE") for name in names)
    assert not any(name.startswith(("tests/", "scripts/", "models/")) for name in names)


@pytest.mark.e2e
@pytest.mark.slow
def test_the_wheel_installed_alone_blurs_a_photo(built: tuple[Path, str], testdata: Path, tmp_path: Path) -> None:
    wheel, _ = built
    env_dir = tmp_path / "venv"
    # The wheel alone: its dependencies (OpenCV, numpy, imutils, tqdm) from the package index, not the checkout.
    python = install_wheel(wheel, env_dir, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    photo = testdata / "images" / f"{PHOTO}.jpg"
    env = clean_env(XDG_CONFIG_HOME=str(elsewhere), PATH=f"{env_dir / 'bin'}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(
        ["bgblur", "--source", str(photo), "--output", "out.png", "--no-window"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=elsewhere,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    # It ran the installed package, not the checkout.
    where = subprocess.run(
        [str(python), "-c", "import bgblur, sys; print(bgblur.__file__)"], capture_output=True, text=True, env=env,
        cwd=elsewhere, check=True,
    ).stdout.strip()  # fmt: skip
    assert where.startswith(str(env_dir)), where

    image, output = cv2.imread(str(photo)), cv2.imread(str(elsewhere / "out.png"))
    assert output is not None and output.shape == image.shape
    inside, outside = person_regions(cv2.imread(str(testdata / "masks" / f"{PHOTO}.png"), cv2.IMREAD_GRAYSCALE))
    diff = cv2.absdiff(image, output).max(axis=2)
    assert np.median(diff[inside > 0]) <= 2  # the person as they were (PNG: no codec loss)
    assert sharpness(output, outside) < 0.25 * sharpness(image, outside)  # the room's detail gone

    # Without the vcam extra, the doctor says how to get the virtual camera, and finds the bundled models.
    doctor = subprocess.run(["bgblur", "--doctor"], capture_output=True, text=True, timeout=60, env=env, cwd=elsewhere)
    assert "Traceback" not in doctor.stdout + doctor.stderr
    lines = doctor.stdout.splitlines()
    assert "ok    model selfie: loads (selfie_segmentation.tflite, bundled)" in lines
    assert any(line.startswith("warn  virtual camera: pyvirtualcam is not installed: ") for line in lines)
    # A wheel user's models: the doctor names the command that fetches them (never a script of the checkout), and
    # offline (as this machine is: the model zoo is out of reach) the download ends in one line, nothing left.
    data = elsewhere / "data"
    env["XDG_DATA_HOME"] = str(data)
    doctor = subprocess.run(["bgblur", "--doctor"], capture_output=True, text=True, timeout=60, env=env, cwd=elsewhere)
    models = [line for line in doctor.stdout.splitlines() if line.startswith(("warn  Mask R-CNN", "warn  pose model"))]
    assert len(models) == 2 and all(f"{data}/bgblur/" in line for line in models), doctor.stdout
    assert "run: bgblur --download mask-rcnn" in models[0] and "run: bgblur --download pose" in models[1]
    assert "scripts/" not in doctor.stdout
    fetch = subprocess.run(
        ["bgblur", "--download", "mask-rcnn"], capture_output=True, text=True, timeout=120, env=env, cwd=elsewhere,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert fetch.returncode == 1
    said = fetch.stderr.strip().splitlines()  # the note saying what it fetches from where, then the one error
    errors = [line for line in said if line.startswith("bgblur: error: ")]
    assert len(errors) == 1 and errors[0].startswith("bgblur: error: cannot download Mask R-CNN"), fetch.stderr
    assert (
        said[:-1] == [line for line in said if line.startswith("bgblur: downloading ")]
        and "Traceback" not in fetch.stderr
    )
    left = [p for p in data.rglob("*") if p.is_file()] if data.exists() else []
    assert left == [], left


def _run_installed(env_dir: Path, cwd: Path, *args: str | Path) -> subprocess.CompletedProcess:
    env = clean_env(XDG_CONFIG_HOME=str(cwd), PATH=f"{env_dir / 'bin'}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(
        ["bgblur", *map(str, args)], capture_output=True, text=True, timeout=300, env=env, cwd=cwd,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.tensorflow
def test_the_wheel_runs_the_cards_command_and_with_opencv_5_1_forced_in_says_why_not(
    built: tuple[Path, str], testdata: Path, tmp_path: Path, mrcnn_dir: Path
) -> None:
    """The design card's command from an installed wheel, on the stand-in weights; then, with opencv-python 5.1
    forced in (no TensorFlow importer), the same command and the doctor each say what is wrong in one line."""
    wheel, _ = built
    env_dir = tmp_path / "venv"
    python = install_wheel(wheel, env_dir, tmp_path)
    photo = testdata / "images" / f"{PHOTO}.jpg"
    card = ["--mask-rcnn", mrcnn_dir, "--source", photo, "--no-window"]
    result = _run_installed(env_dir, tmp_path, *card, "--output", "card.png")
    assert result.returncode == 0, result.stderr
    assert cv2.imread(str(tmp_path / "card.png")).shape == cv2.imread(str(photo)).shape

    force = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "opencv-python==5.1.0.95"],
        capture_output=True, text=True, timeout=600, env=clean_env(), stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert force.returncode == 0, force.stderr[-3000:]
    result = _run_installed(env_dir, tmp_path, *card, "--output", "card51.png")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "bgblur: error: OpenCV 5.1.0 has no TensorFlow importer (removed in 5.1), so it cannot run TensorFlow .pb "
        "models such as Mask R-CNN: install an OpenCV that has it: pip install 'opencv-python>=5.0,<5.1'"
    ]
    assert not (tmp_path / "card51.png").exists()
    doctor = _run_installed(env_dir, tmp_path, "--doctor")
    assert "Traceback" not in doctor.stdout + doctor.stderr
    mask_rcnn = [line for line in doctor.stdout.splitlines() if "Mask R-CNN" in line]
    assert mask_rcnn == [f"warn  Mask R-CNN: cannot run here: {result.stderr.strip().removeprefix('bgblur: error: ')}"]
    # Everything that needs no TensorFlow graph still works on 5.1: the default model blurs the photo.
    plain = _run_installed(env_dir, tmp_path, "--source", photo, "--no-window", "--output", "plain51.png")
    assert plain.returncode == 0, plain.stderr
    assert cv2.imread(str(tmp_path / "plain51.png")).shape == cv2.imread(str(photo)).shape
