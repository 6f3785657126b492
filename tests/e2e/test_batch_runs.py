"""A folder as the source: three clips, two photos, a damaged video and a text file, run as a user would (the
``bgblur`` command in a subprocess): the outputs and their frame counts, the one error line, resuming, the same
outputs with --jobs 2 and with Ray's local runtime, and Ctrl-C in the middle of a run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from harness import processes
from util import assert_error, bgblur_env, read_video, run_bgblur, run_bgblur_in_terminal

pytestmark = pytest.mark.e2e  # whole commands on real files (~25 s for the module)

CLIPS = ("davis_hike", "davis_cows_noperson", "talking_head_bookshelf")  # 80, ~50 and 144 frames in ../shared
PHOTOS = ("cihp_two_men_at_computer", "davis_tennis_f030")
TRIMMED = 20  # frames kept of each clip: the run is about files, not the effect
OUTPUTS = {f"{c}-bgblur.mp4" for c in CLIPS} | {f"{p}-bgblur.jpg" for p in PHOTOS}


def _trim(source: Path, target: Path, frames: int | None) -> None:
    if frames is None:
        shutil.copyfile(source, target)
        return
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", source, "-frames:v", str(frames), "-c:v", "libx264"]
        + ["-preset", "ultrafast", "-c:a", "aac", target],
        check=True,
        timeout=120,
    )


def _library(testdata: Path, folder: Path, frames: int | None = TRIMMED) -> Path:
    folder.mkdir(parents=True)
    for clip in CLIPS:
        _trim(testdata / "videos" / f"{clip}.mp4", folder / f"{clip}.mp4", frames)
    for photo in PHOTOS:
        shutil.copyfile(testdata / "images" / f"{photo}.jpg", folder / f"{photo}.jpg")
    # The first 30 kB of a real recording: its index is lost, nothing can be decoded.
    (folder / "damaged.mp4").write_bytes((testdata / "videos" / "davis_hike.mp4").read_bytes()[:30_000])
    (folder / "notes.txt").write_text("not a recording\n")
    return folder


@pytest.fixture(scope="module")
def library(testdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _library(testdata, tmp_path_factory.mktemp("batch") / "in")


@pytest.fixture(scope="module")
def first_run(library: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """One run with --jobs 1 (the outputs the other runs are compared with) and how long it took."""
    out = tmp_path_factory.mktemp("jobs1") / "out"
    report = out.parent / "report.json"
    start = time.monotonic()
    result = run_bgblur("--source", library, "--output", out, "--jobs", "1", "--report", report)
    elapsed = time.monotonic() - start
    _assert_library_run(result, library, out)
    statuses = {Path(f["source"]).name: f for f in json.loads(report.read_text())["files"]}
    assert statuses["damaged.mp4"]["status"] == "failed" and "damaged.mp4" in statuses["damaged.mp4"]["error"]
    assert statuses["notes.txt"]["status"] == "skipped"
    assert {statuses[f"{c}.mp4"]["frames"] for c in CLIPS} == {TRIMMED}
    assert all(statuses[f"{p}.jpg"]["status"] == "done" for p in PHOTOS)
    return out, elapsed


def _assert_library_run(result: subprocess.CompletedProcess, library: Path, out: Path) -> None:
    assert_error(result, 1, str(library / "damaged.mp4"))  # exit 1, one error line, naming the damaged file
    assert "notes.txt" in result.stderr  # skipped, with a note
    assert result.stderr.strip().splitlines()[-1].startswith("bgblur: 5 done"), result.stderr
    assert "1 skipped, 1 failed" in result.stderr.strip().splitlines()[-1]
    assert {p.name for p in out.iterdir()} == OUTPUTS  # nothing else: no partial, hidden or half-written file
    for clip in CLIPS:
        assert len(read_video(out / f"{clip}-bgblur.mp4")) == TRIMMED
    for photo in PHOTOS:
        picture = cv2.imread(str(out / f"{photo}-bgblur.jpg"))
        assert picture is not None and picture.shape == cv2.imread(str(library / f"{photo}.jpg")).shape


def _decoded(out: Path) -> dict[str, list[np.ndarray]]:
    return {
        name: read_video(out / name) if name.endswith(".mp4") else [cv2.imread(str(out / name))] for name in OUTPUTS
    }


def _assert_same_outputs(out: Path, reference: Path) -> None:
    # Each file is computed alone, the same way whichever worker runs it and whatever runs beside it: measured
    # here, the outputs of --jobs 1, --jobs 2 and Ray are byte-identical files. The check is on decoded pictures
    # (no tolerance): a difference would mean the worker, its thread count or its neighbours changed the result.
    ours, theirs = _decoded(out), _decoded(reference)
    for name in sorted(OUTPUTS):
        assert len(ours[name]) == len(theirs[name]), name
        for index, (a, b) in enumerate(zip(ours[name], theirs[name], strict=True)):
            assert np.array_equal(a, b), (name, index, int(np.abs(a.astype(int) - b).max()))


def test_folder_run_gives_every_output_and_one_error(first_run: tuple[Path, float]) -> None:
    out, _ = first_run
    assert len(list(out.iterdir())) == 5


def test_second_run_remakes_nothing(library: Path, first_run: tuple[Path, float]) -> None:
    out, first = first_run
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    report = out.parent / "again.json"
    start = time.monotonic()
    result = run_bgblur("--source", library, "--output", out, "--jobs", "1", "--report", report)
    elapsed = time.monotonic() - start
    assert_error(result, 1, "damaged.mp4")  # the damaged file is tried again, and fails again
    assert "5 done (5 already complete)" in result.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    statuses = sorted(f["status"] for f in json.loads(report.read_text())["files"])
    assert statuses == ["complete"] * 5 + ["failed", "skipped"]
    # The issue asks for "a fraction of the first": measured ~0.5 s against ~3-8 s (no model runs, one worker
    # started for the damaged file); half leaves room for a busy machine.
    assert elapsed < first / 2, (elapsed, first)


def test_two_jobs_give_the_same_outputs(library: Path, first_run: tuple[Path, float], tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_bgblur("--source", library, "--output", out, "--jobs", "2")
    _assert_library_run(result, library, out)
    _assert_same_outputs(out, first_run[0])


def test_ray_local_runtime_gives_the_same_outputs(library: Path, first_run: tuple[Path, float], tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = bgblur_env()
    env.pop("RAY_ADDRESS", None)
    result = run_bgblur("--source", library, "--output", out, "--ray", "--jobs", "2", env=env)
    _assert_library_run(result, library, out)
    _assert_same_outputs(out, first_run[0])


def test_a_video_cut_short_fails_and_leaves_nothing(testdata: Path, tmp_path: Path) -> None:
    # The index up front (faststart), the last 40 % of the frames missing: it opens and decodes, then runs out.
    whole, folder = tmp_path / "whole.mp4", tmp_path / "in"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", testdata / "videos" / f"{CLIPS[0]}.mp4", "-frames:v", "40"]
        + ["-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart", whole],
        check=True,
        timeout=120,
    )
    folder.mkdir()
    data = whole.read_bytes()
    (folder / "cut.mp4").write_bytes(data[: len(data) * 6 // 10])
    result = run_bgblur("--source", folder, "--output", tmp_path / "out")
    assert_error(result, 1, "cut.mp4", "of its 40 frames", "no output was written")
    assert list((tmp_path / "out").iterdir()) == []  # not the frames it had, not a hidden leftover


def test_ray_missing_gives_the_install_hint(library: Path, tmp_path: Path) -> None:
    fake = tmp_path / "no-ray" / "ray"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    env = bgblur_env()
    env["PYTHONPATH"] = os.pathsep.join([str(fake.parent), env["PYTHONPATH"]])
    result = run_bgblur("--source", library, "--output", tmp_path / "out", "--ray", env=env)
    assert_error(result, 1, "pip install 'bgblur[ray]'")


def test_folder_without_output_folder_is_refused_as_before(library: Path, tmp_path: Path) -> None:
    result = run_bgblur("--source", library, "--matte", tmp_path / "m.png", "--no-window")
    assert_error(result, 1, "source is a folder, not a file")


def test_a_folder_source_needs_an_output_folder(library: Path, tmp_path: Path) -> None:
    result = run_bgblur("--source", library, "--output", tmp_path / "all.mp4", "--no-window")
    assert_error(result, 2, "needs --output FOLDER")
    assert not (tmp_path / "all.mp4").exists()


def test_folder_options_need_a_folder(testdata: Path, tmp_path: Path) -> None:
    photo = testdata / "images" / f"{PHOTOS[0]}.jpg"
    result = run_bgblur("--source", photo, "--output", tmp_path / "x.jpg", "--no-window", "--jobs", "2")
    assert_error(result, 2, "--jobs", "folder")


def test_ctrl_c_leaves_only_complete_outputs_and_the_next_run_finishes(testdata: Path, tmp_path: Path) -> None:
    library = _library(testdata, tmp_path / "in", frames=None)  # whole clips: time to interrupt one
    out = tmp_path / "out"
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "bgblur", "--source", library, "--output", out, "--jobs", "1", "--report", report]
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=bgblur_env(), start_new_session=True
    )
    try:
        # The biggest file goes first; once it is out, the next one is being made: interrupt it.
        processes.wait_until(lambda: [p for p in out.glob("*") if p.name in OUTPUTS], 120, 0.05, "a first output")
        os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the whole process group
        _, stderr = proc.communicate(timeout=60)
    finally:
        processes.stop_process(proc)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    assert "not finished" in stderr, stderr
    # No worker left (multiprocessing's resource tracker leaves once it sees its parent gone).
    group = ["pgrep", "-a", "-g", str(proc.pid)]
    processes.wait_until(lambda: not subprocess.run(group, capture_output=True).stdout, 10, 0.1, "the workers to end")
    finished = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert finished and len(finished) < len(OUTPUTS), finished
    assert all(not name.startswith(".") for name in finished)  # no partial file, not even a hidden one
    statuses = {Path(f["source"]).name: f["status"] for f in json.loads(report.read_text())["files"]}
    made = {name.replace("-bgblur", "") for name in finished}
    assert {n for n, status in statuses.items() if status == "done"} == made, statuses
    assert {statuses[n] for n in statuses if n not in made and n != "notes.txt"} == {"interrupted"}, statuses
    frames = {c: len(read_video(testdata / "videos" / f"{c}.mp4")) for c in CLIPS}
    for name in finished:
        if name.endswith(".mp4"):
            assert len(read_video(out / name)) == frames[name.removesuffix("-bgblur.mp4")], name

    result = run_bgblur("--source", library, "--output", out, "--jobs", "1")
    assert_error(result, 1, "damaged.mp4")
    assert f"5 done ({len(finished)} already complete)" in result.stderr
    assert {p.name for p in out.iterdir()} == OUTPUTS
    assert all(out.joinpath(name).stat().st_mtime_ns == mtime for name, mtime in finished.items())
    for clip, count in frames.items():
        assert len(read_video(out / f"{clip}-bgblur.mp4")) == count


def test_one_progress_bar_over_the_library_on_a_terminal(library: Path, tmp_path: Path) -> None:
    status, text = run_bgblur_in_terminal("--source", library, "--output", tmp_path / "out")
    assert status == 1
    assert "/6 files" in text, text  # files done of the library's six (the text file is not one)
    # Frames done of the library's: 3 clips x 20 + 2 photos + 0 for the damaged file, once every file has opened.
    assert f"/{3 * TRIMMED + 2} [" in text, text
    assert "frame/s" in text or "s/frame" in text, text
    assert "<" in text, text  # elapsed<remaining: the ETA
