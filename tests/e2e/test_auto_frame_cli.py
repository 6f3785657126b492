"""``--auto-frame`` end to end: a talking head on the right of the picture comes out centred (measured on the
output file by a face detector the framer never reads: it frames from the matte alone), a person walking across a
clip stays in the window, the option reaches a folder run's workers; and odd-sized videos keep their exact size.

The issue asked for OpenCV's Haar cascade as the independent detector; the OpenCV 5 wheel has none
(``cv2.CascadeClassifier`` and ``cv2.data``'s XML files are gone), so the measure is MediaPipe's short-range face
detector as bundled — a different model from the segmenter whose matte the framer follows."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from util import MemorySink, bgblur_env, read_video, run_bgblur

from bgblur.build import build_pipeline
from bgblur.cli import parse_options
from bgblur.frames import Controls, Frame
from bgblur.matte.detectors import FaceDetector
from bgblur.run import run_pipeline
from bgblur.sinks.window import apply_key
from bgblur.sources import open_source
from bgblur.sources.simulated import SimulatedCamera

pytestmark = pytest.mark.e2e  # whole commands on real files

TALK = "videos/talking_head_bookshelf.mp4"  # 1280x720, 29.97 fps, 144 frames
BACKGROUND = "backgrounds/indoor_cafe_hall.jpg"
HIKE = "videos/davis_hike.mp4"  # 854x480, 24 fps, 80 frames, a mask for every frame
WIDTH = 1280


def ffmpeg(*args: str | Path) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *map(str, args)], check=True, timeout=300)


@pytest.fixture(scope="module")
def on_the_right(testdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The talking head at 3/4 size, bottom-aligned on the right of a 1280x720 café: its face centre at ~71 %."""
    path = tmp_path_factory.mktemp("autoframe") / "right.mp4"
    graph = "[1:v]scale=1280:720,setsar=1[bg];[0:v]scale=960:540[fg];[bg][fg]overlay=519:180:shortest=1"
    ffmpeg(
        "-i", testdata / TALK, "-loop", "1", "-framerate", "30000/1001", "-i", testdata / BACKGROUND,
        "-filter_complex", graph, "-an", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", path,
    )  # fmt: skip
    return path


def face_centres(frames: list[np.ndarray]) -> np.ndarray:
    """The x of the most likely face's centre in each frame (NaN where none is found)."""
    detector = FaceDetector()
    xs = []
    for frame in frames:
        found = detector.detect(frame)
        box = max(found, key=lambda d: d.score).box if found else None
        xs.append(np.nan if box is None else (box[0] + box[2]) / 2)
    return np.array(xs)


def test_the_input_has_the_face_at_71_percent(on_the_right: Path) -> None:
    xs = face_centres(read_video(on_the_right))
    assert len(xs) == 144 and not np.isnan(xs).any()
    assert np.all(np.abs(xs / WIDTH - 0.71) < 0.03), xs / WIDTH


def test_auto_frame_centres_the_face_steadily_without_borders(on_the_right: Path, tmp_path: Path) -> None:
    output = tmp_path / "framed.mp4"
    result = run_bgblur("--source", on_the_right, "--output", output, "--no-window", "--auto-frame", "--stats")
    assert result.returncode == 0, result.stderr
    assert any(line.startswith("framing ") for line in result.stderr.splitlines()), result.stderr  # its own stage
    frames = read_video(output)
    assert len(frames) == 144 and frames[0].shape == (720, 1280, 3)
    late = face_centres(frames[60:])  # after the first two seconds
    assert np.isnan(late).mean() < 0.05
    offset = np.abs(late - WIDTH / 2) / WIDTH
    assert np.nanmax(offset) < 0.08, offset
    assert np.nanmean(np.abs(np.diff(late))) < 2.0  # px per frame
    for frame in frames[60:]:  # no black border: each edge row and column shows the picture
        for edge in (frame[0], frame[-1], frame[:, 0], frame[:, -1]):
            assert (edge.max(axis=1) < 16).mean() < 0.5


def test_without_auto_frame_the_face_stays_where_it_was(on_the_right: Path, tmp_path: Path) -> None:
    output = tmp_path / "plain.mp4"
    result = run_bgblur("--source", on_the_right, "--output", output, "--no-window", "--stats")
    assert result.returncode == 0, result.stderr
    assert not any(line.startswith("framing ") for line in result.stderr.splitlines())
    xs = face_centres(read_video(output)[::4])
    assert np.all(np.abs(xs / WIDTH - 0.71) < 0.03), xs / WIDTH


def walking_across(testdata: Path, path: Path) -> list[np.ndarray]:
    """The hike, seen through a 560x480 crop sliding left over the 80 frames, so the hiker walks from about a third
    of the width to near its right edge; the clip is written to ``path``, the cropped ground truth returned."""
    frames = read_video(testdata / HIKE)
    masks, writer = [], cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 24, (560, 480))
    for index, frame in enumerate(frames):
        left = round(294 * (1 - index / (len(frames) - 1)))
        mask = cv2.imread(str(testdata / "videos" / "davis_hike_masks" / f"{index:05d}.png"), cv2.IMREAD_GRAYSCALE)
        writer.write(frame[:, left : left + 560])
        masks.append(mask[:, left : left + 560])
    writer.release()
    return masks


def test_a_person_walking_across_is_followed(testdata: Path, tmp_path: Path) -> None:
    clip = tmp_path / "walk.mp4"
    truth = walking_across(testdata, clip)
    args = parse_options(["--source", str(clip), "--output", str(tmp_path / "out.mp4"), "--no-window", "--auto-frame"])
    controls = Controls()
    windows = []
    with open_source(args.source) as source:
        pipeline = build_pipeline(args, source, controls)
        try:
            while (frame := source.read()) is not None:
                matte = pipeline.analyse(frame)
                pipeline.step(frame, matte)
                windows.append(pipeline.framer.window)
        finally:
            pipeline.close()
    assert len(windows) == 80
    xs = []
    for index, (window, mask) in enumerate(zip(windows, truth, strict=True)):
        ys, cols = np.nonzero(mask > 127)
        top, bottom = ys.min(), ys.max()
        upper = cols[ys < top + (bottom - top) / 3]  # the hiker's head and shoulders: the top third of them
        xs.append(cols.mean())
        if index < 24:  # the first second: the window is still arriving
            continue
        assert window.width < 560  # framed, not the whole picture
        assert window.x <= upper.min() and upper.max() <= window.x + window.width, (index, window)
        assert window.y <= top <= window.y + 0.3 * window.height, (index, window)
        # Kept near the middle, not just inside: within 15 % of the window (measured: 8 %) from the window that
        # centres the head as far as the picture allows.
        best = min(max(upper.mean() - window.width / 2, 0), 560 - window.width)
        assert abs(window.x - best) < 0.15 * window.width, (index, window, best)
    assert xs[-1] - xs[0] > 200  # the hiker did cross the picture


def test_a_folder_run_frames_too(on_the_right: Path, tmp_path: Path) -> None:
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    ffmpeg("-i", on_the_right, "-frames:v", "75", "-c:v", "libx264", "-preset", "ultrafast", folder / "right.mp4")
    result = run_bgblur("--source", folder, "--output", out, "--auto-frame", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    frames = read_video(out / "right-bgblur.mp4")
    assert len(frames) == 75
    xs = face_centres(frames[-10:])
    assert np.all(np.abs(xs - WIDTH / 2) / WIDTH < 0.08), xs / WIDTH


@pytest.fixture(scope="module")
def odd_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("odd") / "odd.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=853x479:rate=30", "-frames:v", "40", "-c:v", "libx264", "-pix_fmt",
           "yuv444p", path)  # fmt: skip
    return path


@pytest.mark.parametrize("name", ["out.mp4", "out.avi"])
def test_an_odd_sized_video_comes_out_the_same_size(odd_video: Path, tmp_path: Path, name: str) -> None:
    output, matte = tmp_path / name, tmp_path / f"matte{Path(name).suffix}"
    result = run_bgblur("--source", odd_video, "--output", output, "--matte", matte, "--no-window", "--auto-frame")
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    for path in (output, matte):
        frames = read_video(path)
        assert len(frames) == 40 and frames[0].shape == (479, 853, 3), path


def test_without_ffmpeg_an_odd_mp4_says_in_one_line_that_it_is_smaller(odd_video: Path, tmp_path: Path) -> None:
    no_tools = tmp_path / "bin"
    no_tools.mkdir()
    output = tmp_path / "out.mp4"
    result = run_bgblur("--source", odd_video, "--output", output, "--no-window", env=bgblur_env(PATH=str(no_tools)))
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if "853x479" in line]
    assert len(notes) == 1 and "852x478" in notes[0] and "install ffmpeg" in notes[0], result.stderr
    frames = read_video(output)
    assert len(frames) == 40 and frames[0].shape == (478, 852, 3)


def test_live_auto_frame_with_privacy_off_and_its_key(on_the_right: Path) -> None:
    """A camera (simulated, the live loop and its inference worker): with privacy off the model still runs for the
    framing, the output comes out framed; the z key (the controls) turns it off and the frame eases back out."""
    pictures = [cv2.resize(f, (640, 360), interpolation=cv2.INTER_AREA) for f in read_video(on_the_right)[:90]]
    args = parse_options(["--auto-frame"])
    controls = Controls()
    camera = SimulatedCamera(pictures, fps=30, frame_limit=90)
    pipeline = build_pipeline(args, camera, controls)
    pipeline.outputs.result = sink = MemorySink()
    controls.privacy = False  # the p key: no blur, the framing alone needs the matte
    try:
        run_pipeline(pipeline, camera)
    finally:
        pipeline.close()
    assert len(sink.images) >= 60
    xs = face_centres(sink.images[-10:])
    assert np.all(np.abs(xs - 320) / 640 < 0.08), xs / 640
    assert pipeline.framer.window.width < 640
    apply_key(controls, ord("z"))
    assert not controls.auto_frame
    for i in range(60):  # two more seconds of frames, framing off
        pipeline.step(Frame(pictures[i], 90 + i, 3.0 + i / 30), None)
    assert pipeline.framer.at_rest
