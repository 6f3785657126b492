"""Planning a folder run: which files are videos and pictures, where their outputs go, what is already complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from bgblur.batch import default_jobs
from bgblur.batch.plan import classify, make_plan
from bgblur.batch.task import leftovers, staging_path


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    for name in ("talk.mp4", "b.MOV", "c.webm", "me.jpg", "scan.PNG", "notes.txt", "README", ".hidden.mp4"):
        _touch(root / name)
    _touch(root / "2024" / "jan" / "meeting.mkv")
    _touch(root / ".cache" / "x.mp4")
    return root


def test_classify_by_name() -> None:
    assert classify(Path("a.MP4")) == classify(Path("a.webm")) == "video"
    assert classify(Path("a.JPG")) == classify(Path("a.tiff")) == "picture"
    assert classify(Path("a.txt")) is None and classify(Path("Makefile")) is None


def test_flat_plan_names_outputs_and_skips_the_rest(library: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    plan = make_plan(library, out)
    assert {(i.source.name, i.output.name, i.kind) for i in plan.todo} == {
        ("talk.mp4", "talk-bgblur.mp4", "video"),
        ("b.MOV", "b-bgblur.mov", "video"),
        ("c.webm", "c-bgblur.mp4", "video"),  # OpenCV cannot write WebM: the usual .mp4
        ("me.jpg", "me-bgblur.jpg", "picture"),
        ("scan.PNG", "scan-bgblur.png", "picture"),
    }
    assert all(i.output.parent == out and i.matte is None for i in plan.todo)
    # Hidden files (a run's own leftovers among them) and subfolders without --recursive are not looked at.
    assert sorted((p.name, why) for p, why in plan.skipped) == [
        ("README", "not a video or picture (no extension)"),
        ("notes.txt", "not a video or picture (.txt)"),
    ]
    assert plan.complete == []


def test_recursive_keeps_the_layout_and_the_matte_folder(library: Path, tmp_path: Path) -> None:
    plan = make_plan(library, tmp_path / "out", recursive=True, matte_dir=tmp_path / "mattes")
    (meeting,) = [i for i in plan.todo if i.source.name == "meeting.mkv"]
    assert meeting.output == tmp_path / "out" / "2024" / "jan" / "meeting-bgblur.mkv"
    assert meeting.matte == tmp_path / "mattes" / "2024" / "jan" / "meeting-matte.mkv"
    assert not any(".cache" in str(i.source) for i in plan.todo)


def test_an_existing_output_is_complete_unless_overwrite(library: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _touch(out / "talk-bgblur.mp4")
    _touch(staging_path(out / "me-bgblur.jpg"))  # a killed task's hidden leftover is not an output
    plan = make_plan(library, out)
    assert [i.source.name for i in plan.complete] == ["talk.mp4"]
    assert "me.jpg" in {i.source.name for i in plan.todo}
    again = make_plan(library, out, overwrite=True)
    assert again.complete == [] and len(again.todo) == 5


def test_with_a_matte_folder_both_files_make_it_complete(library: Path, tmp_path: Path) -> None:
    out, mattes = tmp_path / "out", tmp_path / "mattes"
    _touch(out / "talk-bgblur.mp4")
    assert "talk.mp4" in {i.source.name for i in make_plan(library, out, matte_dir=mattes).todo}
    _touch(mattes / "talk-matte.mp4")
    assert [i.source.name for i in make_plan(library, out, matte_dir=mattes).complete] == ["talk.mp4"]


def test_an_output_folder_inside_the_input_is_not_walked(library: Path) -> None:
    out = library / "blurred"
    _touch(out / "talk-bgblur.mp4")
    plan = make_plan(library, out, recursive=True)
    assert not any(i.source.parent == out for i in plan.todo + plan.complete)


def test_leftovers_are_hidden_beside_the_output(tmp_path: Path) -> None:
    output = tmp_path / "talk-bgblur.mp4"
    for path in leftovers(output):
        assert path.parent == tmp_path and path.name.startswith(".") and path.suffix == ".mp4"


def test_default_jobs_is_one_per_core() -> None:
    assert [default_jobs(n) for n in (1, 2, 16)] == [1, 2, 16]


def test_the_ray_probe_names_a_folder_it_cannot_write(tmp_path: Path) -> None:
    from bgblur.batch.ray import probe  # runs on a Ray worker; a plain function, Ray not needed to call it

    assert probe([str(tmp_path / "out")]) is None and (tmp_path / "out").is_dir()
    blocked = _touch(tmp_path / "a-file") / "out"  # under a file: no one can create it, root included
    problem = probe([str(tmp_path / "out"), str(blocked)])
    assert problem is not None and str(blocked) in problem and "not writable from Ray worker" in problem
