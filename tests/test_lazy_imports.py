"""Load what is used: a plain run imports neither the Mask R-CNN backend nor imutils (the card's library, used only
by that backend); --visualize and --mask-rcnn do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from util import bgblur_env

# Runs bgblur's own main() on a photo in a fresh interpreter, then says which of the heavy modules were loaded.
PROBE = """
import sys
from bgblur.cli import main
status = main(sys.argv[1:])
print("loaded:", " ".join(m for m in ("bgblur.segmenters.maskrcnn", "imutils") if m in sys.modules), "status:", status)
"""


def _loaded(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=bgblur_env(),
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_a_plain_run_on_a_photo_loads_neither_mask_rcnn_nor_imutils(testdata: Path, tmp_path: Path) -> None:
    photo = testdata / "images" / "davis_tennis_f030.jpg"
    line = _loaded("--source", str(photo), "--output", str(tmp_path / "out.png"), "--no-window")
    assert line == "loaded:  status: 0"
    assert (tmp_path / "out.png").stat().st_size > 0


@pytest.mark.tensorflow
def test_mask_rcnn_runs_load_both(testdata: Path, tmp_path: Path, mrcnn_dir: Path) -> None:
    photo = testdata / "images" / "davis_tennis_f030.jpg"
    args = ["--source", str(photo), "--output", str(tmp_path / "out.png"), "--no-window", "--mask-rcnn", str(mrcnn_dir)]
    assert _loaded(*args) == "loaded: bgblur.segmenters.maskrcnn imutils status: 0"
