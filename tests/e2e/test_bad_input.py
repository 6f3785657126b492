"""Bad input (issue 7): each case ends in one ``bgblur: error: …`` line naming the problem and the fix, exit 1
(2 for a bad command line), no traceback, no native abort, no OpenCV/FFmpeg chatter, the input file untouched.
Odd but valid pictures (grey, 16-bit, alpha, 1x1, 10000x10000) work.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from model_files import write_card
from util import assert_error, read_video, run_bgblur

pytestmark = pytest.mark.e2e  # slow, end to end: real processes, windows, streams

CLIP = "davis_hike.mp4"  # 80 frames, 854x480
GRAPH = "frozen_inference_graph.pb"
TEXT_GRAPH = "mask_rcnn_inception_v2_coco_2018_01_28.pbtxt"
LABELS = "object_detection_classes_coco.txt"


@dataclass
class Case:
    """One bad input: files made in ``tmp`` and the bgblur arguments, then the expected status and message."""

    make: Callable[[Path, Path, Path], list[str | Path]]  # (tmp, testdata, mrcnn folder) -> args
    status: int
    fragments: tuple[str, ...]


def _image(tmp: Path) -> Path:
    path = tmp / "in.png"
    cv2.imwrite(str(path), np.full((48, 64, 3), (40, 90, 160), np.uint8))
    return path


def _file(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def _run_image(tmp: Path, *extra: str | Path) -> list[str | Path]:
    return ["--source", _image(tmp), "--output", tmp / "out.png", *extra]


def _video_source(tmp: Path, source: Path) -> list[str | Path]:
    return ["--source", source, "--output", tmp / "out.mp4"]


def _read_only_folder(tmp: Path) -> Path:
    """A folder nobody can write to. Root ignores permission bits, so root gets /proc."""
    if os.geteuid() == 0:
        return Path("/proc")
    folder = tmp / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def _broken_mrcnn(tmp: Path, mrcnn: Path, name: str, data: bytes | None) -> Path:
    """A copy of the Mask R-CNN folder (links to the real files) with ``name`` replaced by ``data`` or removed."""
    folder = tmp / "mask-rcnn-coco"
    folder.mkdir()
    for item in mrcnn.iterdir():
        (folder / item.name).symlink_to(item)
    (folder / name).unlink()
    if data is not None:
        (folder / name).write_bytes(data)
    return folder


def _mrcnn_args(tmp: Path, folder: Path) -> list[str | Path]:
    return [*_run_image(tmp), "--mask-rcnn", folder]


def _mismatched_text_graph(mrcnn: Path) -> bytes:
    """The real text graph with one convolution wired to another layer's weights: loads, then fails to run."""
    text = (mrcnn / TEXT_GRAPH).read_text()
    name = "Mixed_3b/Branch_0/Conv2d_0a_1x1/weights"
    assert name in text
    return text.replace(name, "Mixed_3c/Branch_0/Conv2d_0a_1x1/weights", 1).encode()


def _renamed_text_graph(mrcnn: Path) -> bytes:
    """The real text graph with its first layer renamed: the weights file has no such tensor."""
    return (mrcnn / TEXT_GRAPH).read_text().replace("Conv2d_1a_7x7", "Conv2d_9z_7x7").encode()


def _model_with_card(tmp: Path, name: str, data: bytes) -> list[str | Path]:
    model = _file(tmp, name, data)
    write_card(model, {"input_size": [64, 48], "output": "sigmoid"})
    return [*_run_image(tmp), "--model", model]


def _truncated_clip(tmp: Path, data: Path) -> Path:
    clip = (data / "videos" / CLIP).read_bytes()
    return _file(tmp, "truncated.mp4", clip[: len(clip) // 2])


RANDOM = np.random.default_rng(7).integers(0, 256, 200_000, dtype=np.uint8).tobytes()

CASES = {
    # sources
    "missing path": Case(lambda t, d, m: _video_source(t, t / "nothing.mp4"), 1, ("source not found", "nothing.mp4")),
    # A folder is a folder run now (every video and picture in it): --output naming a file is a usage error.
    "a directory": Case(
        lambda t, d, m: _video_source(t, t), 2, ("names a file", "a folder as --source needs --output FOLDER")
    ),
    "zero-byte file": Case(
        lambda t, d, m: _video_source(t, _file(t, "zero.mp4", b"")), 1, ("empty file", "interrupted copy or download")
    ),
    "text named .mp4": Case(
        lambda t, d, m: _video_source(t, _file(t, "notes.mp4", b"meeting notes\n" * 50)),
        1,
        ("cannot read video", "not a video OpenCV can decode", "converting it with ffmpeg"),
    ),
    "text named .jpg": Case(
        lambda t, d, m: ["--source", _file(t, "notes.jpg", b"hello\n"), "--output", t / "out.png"],
        1,
        ("cannot read image", "convert it to PNG or JPEG"),
    ),
    "truncated video": Case(
        lambda t, d, m: _video_source(t, _truncated_clip(t, d)),
        1,
        ("of its 80 frames could be decoded", "truncated", "the output holds those frames", "again"),
    ),
    # options
    "even --kernel": Case(lambda t, d, m: _run_image(t, "--kernel", "40"), 2, ("--kernel", "40 is even", "try 41")),
    "negative --kernel": Case(lambda t, d, m: _run_image(t, "--kernel", "-3"), 2, ("--kernel", "outside 1..501")),
    "huge --kernel": Case(lambda t, d, m: _run_image(t, "--kernel", "100001"), 2, ("--kernel", "outside 1..501")),
    "--confidence above 1": Case(lambda t, d, m: _run_image(t, "--confidence", "1.5"), 2, ("1.5 is outside 0..1",)),
    "--threshold below 0": Case(lambda t, d, m: _run_image(t, "--threshold", "-0.1"), 2, ("-0.1 is outside 0..1",)),
    "--threshold nan": Case(lambda t, d, m: _run_image(t, "--threshold", "nan"), 2, ("outside 0..1",)),
    "unknown model name": Case(
        lambda t, d, m: _run_image(t, "--model", "selfy"), 2, ("unknown model 'selfy'", "selfie, selfie-landscape")
    ),
    "unknown model format": Case(
        lambda t, d, m: _run_image(t, "--model", _file(t, "m.bin", b"x")), 1, ("unsupported model format '.bin'",)
    ),
    "output in a missing folder": Case(
        lambda t, d, m: ["--source", _image(t), "--output", t / "no" / "out.png"], 1, ("folder", "does not exist")
    ),
    "output in a read-only folder": Case(
        lambda t, d, m: ["--source", _image(t), "--output", _read_only_folder(t) / "out.png"],
        1,
        ("is not writable", "choose another folder"),
    ),
    "output under a file": Case(
        lambda t, d, m: ["--source", _image(t), "--output", _file(t, "f", b"x") / "out.png"],
        1,
        ("is a file, not a folder",),
    ),
    "output equal to the input": Case(
        lambda t, d, m: ["--source", _image(t), "--output", t / "in.png", "--overwrite"],
        1,
        ("is the input file", "choose another name"),
    ),
    "matte equal to the input": Case(
        lambda t, d, m: ["--source", _image(t), "--matte", t / "." / "in.png", "--overwrite"],
        1,
        ("is the input file",),
    ),
    "existing output without --overwrite": Case(
        lambda t, d, m: ["--source", _image(t), "--output", _file(t, "out.png", b"keep me")],
        1,
        ("already exists", "--overwrite"),
    ),
    "video output for a picture": Case(
        lambda t, d, m: ["--source", _image(t), "--output", t / "out.mp4"],
        1,
        ("cannot write image", "a picture source gives a picture", ".png"),
    ),
    # models
    "Mask R-CNN folder missing": Case(lambda t, d, m: _mrcnn_args(t, t / "nowhere"), 1, ("folder not found",)),
    "Mask R-CNN without weights": Case(
        lambda t, d, m: _mrcnn_args(t, _broken_mrcnn(t, m, GRAPH, None)), 1, ("file missing", GRAPH, "download")
    ),
    "Mask R-CNN without text graph": Case(
        lambda t, d, m: _mrcnn_args(t, _broken_mrcnn(t, m, TEXT_GRAPH, None)), 1, ("file missing", TEXT_GRAPH)
    ),
    "Mask R-CNN without labels": Case(
        lambda t, d, m: _mrcnn_args(t, _broken_mrcnn(t, m, LABELS, None)), 1, ("file missing", LABELS)
    ),
    "empty .pb": Case(
        lambda t, d, m: _mrcnn_args(t, _broken_mrcnn(t, m, GRAPH, b"")), 1, ("weights are empty", "download")
    ),
    "random-bytes .pb": Case(
        lambda t, d, m: _mrcnn_args(t, _broken_mrcnn(t, m, GRAPH, RANDOM)),
        1,
        ("cannot load model", "damaged or do not belong together", "download"),
    ),
    "truncated .pb": Case(
        lambda t, d, m: _mrcnn_args(t, _broken_mrcnn(t, m, GRAPH, (m / GRAPH).read_bytes()[:20_000_000])),
        1,
        ("damaged or do not belong together",),
    ),
    ".pbtxt naming tensors the .pb lacks": Case(
        lambda t, d, m: _mrcnn_args(t, _broken_mrcnn(t, m, TEXT_GRAPH, _renamed_text_graph(m))),
        1,
        ("damaged or do not belong together",),
    ),
    ".pbtxt wired to the wrong weights": Case(
        lambda t, d, m: _mrcnn_args(t, _broken_mrcnn(t, m, TEXT_GRAPH, _mismatched_text_graph(m))),
        1,
        ("weights do not match the text graph",),
    ),
    ".pbtxt of another model": Case(
        lambda t, d, m: _mrcnn_args(t, _broken_mrcnn(t, m, TEXT_GRAPH, b'node { name: "x" op: "Placeholder" }\n')),
        1,
        ("is not the Mask R-CNN text graph",),
    ),
    "random-bytes .tflite": Case(
        lambda t, d, m: _model_with_card(t, "m.tflite", RANDOM), 1, ("not a valid TFLite model",)
    ),
    "text named .tflite": Case(
        lambda t, d, m: _model_with_card(t, "m.tflite", b"not a model\n"), 1, ("not a valid TFLite model",)
    ),
    "random-bytes .onnx": Case(lambda t, d, m: _model_with_card(t, "m.onnx", RANDOM), 1, ("not a valid ONNX model",)),
    "empty .onnx": Case(lambda t, d, m: _model_with_card(t, "m.onnx", b""), 1, ("is empty",)),
    "missing model file": Case(
        lambda t, d, m: _run_image(t, "--model", t / "gone.onnx"), 1, ("model file not found", "gone.onnx")
    ),
    "card given as the model": Case(
        lambda t, d, m: _run_image(t, "--model", _file(t, "m.json", b"{}")), 1, ("give the model file itself",)
    ),
}


def _fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    """sha256 and mtime of every regular file under ``folder`` (links are not ours to check)."""
    return {
        str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() and not p.is_symlink()
    }


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input(case: Case, tmp_path: Path, testdata: Path, mrcnn_dir: Path) -> None:
    args = case.make(tmp_path, testdata, mrcnn_dir)
    before = _fingerprint(tmp_path)
    shared_before = _fingerprint(mrcnn_dir)

    result = run_bgblur(*args, "--no-window", "-q", timeout=60)

    line = assert_error(result, case.status, *case.fragments)
    assert result.stderr.strip() == line, "OpenCV/FFmpeg noise around the error"
    assert result.stdout == ""
    after = _fingerprint(tmp_path)
    for path, print_ in before.items():  # the input (and every file that was there) is untouched
        assert after.get(path) == print_, path
    assert _fingerprint(mrcnn_dir) == shared_before
    # Nothing half-written is left behind; only a truncated video leaves its (finished) output.
    leftovers = {Path(p).name for p in after} - {Path(p).name for p in before}
    assert leftovers <= {"out.mp4"}, leftovers


def test_truncated_video_keeps_what_decoded(tmp_path: Path, testdata: Path) -> None:
    source = _truncated_clip(tmp_path, testdata)
    decodable = len(read_video(source))
    result = run_bgblur("--source", source, "--output", tmp_path / "out.mp4", "--no-window", "-q", timeout=120)
    line = assert_error(result, 1, f"only {decodable} of its 80 frames")
    assert 0 < decodable < 80, line
    frames = read_video(tmp_path / "out.mp4")
    assert len(frames) == decodable
    assert frames[0].shape == (480, 854, 3)


def test_video_whose_frame_size_changes(tmp_path: Path) -> None:
    """Two MPEG-TS segments of different sizes, back to back. OpenCV's FFmpeg reader (4.x and 5.x) scales the
    later frames to the first size, so bgblur processes every decodable frame at that size: a sane result."""
    segments = []
    for size in ("320x240", "160x120"):
        segment = tmp_path / f"{size}.ts"
        lavfi = f"testsrc=size={size}:rate=10"
        codec = ["-c:v", "mpeg2video", "-f", "mpegts"]
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", lavfi, "-frames:v", "10", *codec, str(segment)],
            check=True,
        )
        segments.append(segment.read_bytes())
    source = _file(tmp_path, "changing.ts", b"".join(segments))
    decoded = read_video(source)
    assert len(decoded) >= 18

    result = run_bgblur("--source", source, "--output", tmp_path / "out.mp4", "--no-window", "-q", timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    frames = read_video(tmp_path / "out.mp4")
    assert len(frames) == len(decoded)
    assert {f.shape for f in frames} == {(240, 320, 3)}


def _write(path: Path, image: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), image)
    return path


@pytest.fixture(scope="module")
def colour_run(tmp_path_factory: pytest.TempPathFactory, testdata: Path) -> tuple[np.ndarray, np.ndarray]:
    """A real photo and bgblur's output for it: the yardstick for the same photo in odd formats."""
    folder = tmp_path_factory.mktemp("colour")
    image = cv2.imread(str(testdata / "images" / "cihp_two_men_at_computer.jpg"))
    source = _write(folder / "in.png", image)
    result = run_bgblur("--source", source, "--output", folder / "out.png", "--no-window", "-q")
    assert result.returncode == 0, result.stderr
    return image, cv2.imread(str(folder / "out.png"), cv2.IMREAD_UNCHANGED)


ODD_PICTURES = {
    "grayscale": lambda img: cv2.cvtColor(img, cv2.COLOR_BGR2GRAY),
    "16-bit": lambda img: img.astype(np.uint16) * 257,  # exactly the 8-bit picture, in 16 bits
    "alpha": lambda img: np.dstack([img, np.full(img.shape[:2], 200, np.uint8)]),
    "1x1": lambda img: img[:1, :1],
    "10000x10000": lambda img: cv2.resize(img, (10000, 10000), interpolation=cv2.INTER_NEAREST),
}


@pytest.mark.parametrize("kind", ODD_PICTURES.keys())
def test_odd_pictures_work(kind: str, tmp_path: Path, colour_run: tuple[np.ndarray, np.ndarray]) -> None:
    """Grey, 16-bit, alpha, tiny and huge pictures are read as 8-bit colour, processed, and written as an 8-bit
    colour picture of the same width and height (alpha is dropped: the blurred room has no transparency)."""
    image, colour_out = colour_run
    picture = ODD_PICTURES[kind](image)
    suffix = ".jpg" if picture.size > 10**8 else ".png"  # PNG of 10^8 pixels takes seconds to write and read
    source = _write(tmp_path / f"in{suffix}", picture)
    before = _fingerprint(tmp_path)

    result = run_bgblur(
        "--source", source, "--output", tmp_path / f"out{suffix}", "--matte", tmp_path / "matte.jpg", "--no-window"
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert all(_fingerprint(tmp_path)[p] == v for p, v in before.items())
    out = cv2.imread(str(tmp_path / f"out{suffix}"), cv2.IMREAD_UNCHANGED)
    matte = cv2.imread(str(tmp_path / "matte.jpg"), cv2.IMREAD_UNCHANGED)
    assert out.shape == (*picture.shape[:2], 3) and out.dtype == np.uint8
    assert matte.shape == picture.shape[:2] and matte.dtype == np.uint8
    if kind == "grayscale":  # grey in, grey-looking out: the three channels stay equal
        assert np.abs(out.astype(int) - out[..., :1]).max() <= 1
    if kind in ("16-bit", "alpha"):  # the same colours as the 8-bit picture, so the same result
        np.testing.assert_array_equal(out, colour_out)


def test_input_untouched_when_output_is_a_link_to_it(tmp_path: Path) -> None:
    source = _image(tmp_path)
    link = tmp_path / "link.png"
    link.symlink_to(source)
    before = _fingerprint(tmp_path)
    result = run_bgblur("--source", source, "--output", link, "--overwrite", "--no-window", "-q")
    assert_error(result, 1, "is the input file")
    assert _fingerprint(tmp_path) == before
