"""Shared fixtures: where the real models and test data live (``$BGBLUR_SHARED``, default ``../shared``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import processes, x11

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BGBLUR_SHARED", REPO.parent / "shared")).resolve()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests sharing the developer set's evaluation run in one xdist worker. On an OpenCV without the TensorFlow
    importer (5.1 and later, outside the tested range), the tests that need it say so and skip: those marked
    ``tensorflow`` and those using the Mask R-CNN folder. Under the lock (and so in CI) the importer is there and
    they all run."""
    from bgblur.segmenters.dnn import tensorflow_unsupported

    for item in items:  # with pytest-xdist (-n): the developer set is evaluated once, by one worker
        if "evaluation" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("evaluation"))
    reason = tensorflow_unsupported()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=f"needs OpenCV's TensorFlow importer: {reason}")
    for item in items:
        if "tensorflow" in item.keywords or "mrcnn_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


def _require(path: Path) -> Path:
    # Fail loudly, never skip: a missing data folder must not turn into a green run.
    if not path.exists():
        pytest.fail(f"test data missing: {path} (set BGBLUR_SHARED to the shared folder)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def shared() -> Path:
    return _require(SHARED)


@pytest.fixture(scope="session")
def testdata(shared: Path) -> Path:
    return _require(shared / "testdata")


@pytest.fixture(scope="session")
def models_dir(shared: Path) -> Path:
    return _require(shared / "models")


@pytest.fixture(scope="session")
def pose_model() -> Path:
    """MediaPipe's pose landmark model: not in the shared folder, fetched by ``BGBLUR_MODELS=models bgblur
    --download pose`` (``scripts/test.sh`` does it) into ``models/mediapipe-pose``, or wherever
    ``$BGBLUR_POSE_MODEL`` says."""
    path = Path(os.environ.get("BGBLUR_POSE_MODEL", REPO / "models" / "mediapipe-pose" / "pose_landmark_full.tflite"))
    if not path.is_file():
        pytest.fail(
            f"pose model missing: {path} (run: BGBLUR_MODELS=models bgblur --download pose, or set BGBLUR_POSE_MODEL)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def evaluation(testdata: Path):
    """``evaluation(*options, videos=None)``: scripts/evaluate.py's scores of the developer set (by item name) for
    those bgblur options: every photo, and the clips named in ``videos`` (all when None); computed once per session
    whichever tests ask (the whole set takes ~7 s a configuration, most of it the clips)."""
    sys.path.insert(0, str(REPO / "scripts"))
    import evaluate

    from bgblur.cli import parse_options

    runs: dict[tuple, dict[str, evaluate.Score]] = {}

    def run(*options: str, videos: tuple[str, ...] | None = None) -> dict[str, evaluate.Score]:
        key = (options, videos)
        if key not in runs:
            scores = evaluate.Evaluator(parse_options(list(options)), None).run(testdata, videos=videos)
            runs[key] = {s.name: s for s in scores}
        return runs[key]

    return run


@pytest.fixture(scope="session")
def mrcnn_dir(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Mask R-CNN folder in the PyImageSearch layout with the stand-in weights (person bias 8)."""
    cache = Path(os.environ.get("BGBLUR_CACHE", REPO / ".cache")) / "mask-rcnn-coco"
    cache.mkdir(parents=True, exist_ok=True)
    src = models_dir / "mask-rcnn-coco"
    for name in ("mask_rcnn_inception_v2_coco_2018_01_28.pbtxt", "object_detection_classes_coco.txt", "colors.txt"):
        target = cache / name
        if not target.exists():
            partial = target.with_name(f"{name}.{os.getpid()}")
            partial.write_bytes(_require(src / name).read_bytes())
            os.replace(partial, target)
    pb = cache / "frozen_inference_graph.pb"
    if not pb.exists() or pb.stat().st_size < 60_000_000:
        tool = _require(models_dir / "tools" / "make_synthetic_mrcnn_pb.py")
        partial = pb.with_name(f"{pb.name}.{os.getpid()}")  # written aside, then moved: xdist workers may race
        subprocess.run(
            [sys.executable, str(tool), str(cache / "mask_rcnn_inception_v2_coco_2018_01_28.pbtxt"), str(partial), "8"],
            check=True,
        )
        os.replace(partial, pb)
    return cache


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind() -> Iterator[None]:
    """Set up first, torn down last: after the session (its X display included) nothing we started may still run."""
    yield
    try:
        processes.wait_until(lambda: not processes.child_processes(), 5, 0.1, "processes left behind")
    except TimeoutError:
        pytest.fail(f"processes left behind at the end of the session: {processes.child_processes()}")


@pytest.fixture(scope="session")
def xdisplay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private Xvfb display (``":N"``) with a window manager, for window tests, started once per session."""
    display, proc = x11.start_xvfb()
    processes.SESSION_PIDS.add(proc.pid)
    try:
        window_manager = x11.start_window_manager(display, tmp_path_factory.mktemp("openbox"))
        processes.SESSION_PIDS.add(window_manager.pid)
        try:
            yield display
        finally:
            processes.stop_process(window_manager)
    finally:
        x11.stop_xvfb(proc)
        processes.SESSION_PIDS.clear()
