"""Ray's side of a folder run on a real local runtime, with a task that stands in for the per-file one: a worker
that dies is retried a bounded number of times and then reported as that file's failure, the others go on; an
output folder a worker cannot write stops the run before any file, with one clear error."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import bgblur.batch.ray as batch_ray
from bgblur.batch.plan import Item
from bgblur.batch.progress import LibraryBar
from bgblur.batch.task import Result
from bgblur.errors import BgblurError

pytestmark = pytest.mark.e2e  # starts Ray's local runtime (~5-10 s each)


def stand_in(options: dict, item: Item, threads: int = 0, **_: object) -> Result:
    """Dies on crash.mp4 like a worker on a lost node or under the OOM killer; any other file is done at once."""
    if item.source.name == "crash.mp4":
        os._exit(3)
    return Result(str(item.source), str(item.output), "done", frames=1, host=str(os.getpid()))


@pytest.fixture
def stand_in_task(monkeypatch: pytest.MonkeyPatch):
    from ray import cloudpickle  # Ray's own copy, the one that pickles its tasks

    # Ray's workers cannot import this test module: ship the stand-in by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    monkeypatch.setattr(batch_ray, "run_task", stand_in)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    yield
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def _items(tmp_path: Path, *names: str) -> list[Item]:
    return [Item(tmp_path / "in" / n, tmp_path / "out" / n, None, "video") for n in names]


def _run(items: list[Item], folders: list[str]) -> tuple[list[Result], list[Result]]:
    reported: list[Result] = []
    bar = LibraryBar(len(items), enabled=False)
    results = batch_ray.run_ray(items, {}, None, 2, 1, folders, bar, reported.append, lambda: False)
    return results, reported


def test_a_lost_worker_is_retried_then_its_file_fails(
    stand_in_task: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = _items(tmp_path, "a.mp4", "crash.mp4", "b.mp4")
    results, reported = _run(items, [str(tmp_path / "out")])
    told = [line for line in capsys.readouterr().err.splitlines() if line.startswith("bgblur: lost ")]
    crash = tmp_path / "in" / "crash.mp4"
    assert (
        told
        == [
            f"bgblur: lost a Ray worker process (WorkerCrashedError) while it ran {crash}: retrying it "
            "on the nodes left"
        ]
        * batch_ray.RETRIES
    ), told
    assert results == reported
    status = {Path(r.source).name: r for r in results}
    assert status["a.mp4"].status == status["b.mp4"].status == "done"
    crashed = status["crash.mp4"]
    assert crashed.status == "failed"
    assert f"lost {batch_ray.RETRIES + 1} times" in crashed.error and "WorkerCrashedError" in crashed.error
    assert crashed.lost == ["a Ray worker process (WorkerCrashedError)"] * (batch_ray.RETRIES + 1)
    assert status["a.mp4"].lost == status["b.mp4"].lost == []


def test_an_output_folder_no_worker_can_write_stops_the_run_first(stand_in_task: None, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    blocked = tmp_path / "a-file" / "out"
    with pytest.raises(BgblurError, match=r"not writable from Ray worker.*shared filesystem"):
        _run(_items(tmp_path, "a.mp4"), [str(blocked)])
