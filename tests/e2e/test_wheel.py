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
    )} == data  # fmt: skip
    assert any(name.endswith(".dist-info/licenses/bgblur/data/LICENSE") for name in names)
    assert not any(name.startswith(("tests/", "scripts/", "models/")) for name in names)


@pytest.mark.e2e
@pytest.mark.slow
def test_the_wheel_installed_alone_blurs_a_photo(built: tuple[Path, str], testdata: Path, tmp_path: Path) -> None:
    wheel, _ = built
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # The wheel alone: its dependencies (OpenCV, numpy, imutils, tqdm) from the package index, not the checkout.
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
    )
    assert install.returncode == 0, install.stderr[-3000:]
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
