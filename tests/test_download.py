"""``bgblur --download`` run as a user runs it, against stand-in archives served by a real HTTP server on 127.0.0.1.

The stand-ins (a tar.gz holding the synthetic Mask R-CNN graph, a zip standing in for the mediapipe wheel) have
their own hashes, handed to bgblur the way a mirror's are: a sources file named by ``$BGBLUR_DOWNLOAD_SOURCES``.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import pytest

from bgblur.models import MASK_RCNN_TEXT_SHA256
from tests.util import REPO, assert_error, bgblur_env, run_bgblur, run_bgblur_in_terminal

PB_MEMBER = "mask_rcnn_inception_v2_coco_2018_01_28/frozen_inference_graph.pb"
POSE_MEMBER = "mediapipe/modules/pose_landmark/pose_landmark_full.tflite"
LICENSE_MEMBER = "mediapipe-0.10.14.dist-info/LICENSE"
STAND_IN_TFLITE = (REPO / "bgblur" / "data" / "pose_detection.tflite").read_bytes()  # any file will do
STAND_IN_LICENSE = (REPO / "bgblur" / "data" / "LICENSE").read_bytes()


def digest(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def tar_gz(members: dict[str, bytes | Path]) -> bytes:
    """A .tar.gz of ``members``: bytes become files, a Path becomes a symbolic link to it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if isinstance(data, Path):
                info.type, info.linkname = tarfile.SYMTYPE, str(data)
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def wheel() -> bytes:
    """A zip laid out like the mediapipe wheel: the two members bgblur takes, and code it must leave alone."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mediapipe/__init__.py", "raise SystemExit('never run')\n")
        archive.writestr(POSE_MEMBER, STAND_IN_TFLITE)
        archive.writestr(LICENSE_MEMBER, STAND_IN_LICENSE)
    return buffer.getvalue()


@dataclass
class Server:
    """A real HTTP server on 127.0.0.1: ``routes`` maps a path to (behaviour, body); every GET is counted."""

    url: str = ""
    routes: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)  # ends a stalled answer


def handler_for(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.requests.append(self.path)
            if self.path not in server.routes:
                self.send_error(404)
                return
            behaviour, body = server.routes[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if behaviour == "ok":
                self.wfile.write(body)
                return
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if behaviour == "stall":  # half the file, then silence until the test ends
                server.release.wait(60)
            self.close_connection = True  # "cut": the server goes away half-way through the body

        def log_message(self, *_args: object) -> None:  # the test reads the requests from server.requests
            pass

    return Handler


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    state.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def sources(tmp_path: Path, entries: dict[str, object]) -> Path:
    path = tmp_path / "sources.json"
    path.write_text(json.dumps(entries))
    return path


def mask_rcnn_entry(server: Server, archive: bytes, pb: bytes, behaviour: str = "ok") -> dict[str, object]:
    """Serve ``archive`` at /mrcnn.tar.gz and describe it with its own pins (``pb`` is the graph inside)."""
    server.routes["/mrcnn.tar.gz"] = (behaviour, archive)
    return {
        "url": f"{server.url}/mrcnn.tar.gz",
        "known_hash": digest(archive),
        "members": {PB_MEMBER: ["frozen_inference_graph.pb", digest(pb, "sha1")]},
    }


def pose_entry(server: Server, archive: bytes) -> dict[str, object]:
    server.routes["/mediapipe.whl"] = ("ok", archive)
    return {
        "url": f"{server.url}/mediapipe.whl",
        "known_hash": digest(archive),
        "members": {
            POSE_MEMBER: ["pose_landmark_full.tflite", digest(STAND_IN_TFLITE)],
            LICENSE_MEMBER: ["LICENSE", digest(STAND_IN_LICENSE)],
        },
    }


def env(models: Path, sources_file: Path) -> dict[str, str]:
    return bgblur_env(BGBLUR_MODELS=str(models), BGBLUR_DOWNLOAD_SOURCES=str(sources_file), NO_PROXY="*")


def files_in(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden temporary ones included), relative path -> sha256."""
    return {
        str(path.relative_to(folder)): digest(path.read_bytes()) for path in sorted(folder.rglob("*")) if path.is_file()
    }


@pytest.fixture(scope="module")
def stand_in_pb(mrcnn_dir: Path) -> bytes:
    return (mrcnn_dir / "frozen_inference_graph.pb").read_bytes()  # the synthetic graph: it loads and runs


def test_the_download_puts_checked_files_in_place_and_mask_rcnn_runs_from_there(
    server: Server, stand_in_pb: bytes, testdata: Path, tmp_path: Path
) -> None:
    models = tmp_path / "data"
    picture, out, matte = testdata / "images" / "cihp_two_men_at_computer.jpg", tmp_path / "o.png", tmp_path / "m.png"
    archive = tar_gz({"mask_rcnn_inception_v2_coco_2018_01_28/pipeline.config": b"model {}\n", PB_MEMBER: stand_in_pb})
    table = sources(
        tmp_path, {"mask-rcnn": mask_rcnn_entry(server, archive, stand_in_pb), "pose": pose_entry(server, wheel())}
    )
    mask_rcnn = ["--mask-rcnn", "--source", picture, "--output", out, "--matte", matte, "--no-window"]
    before = run_bgblur(*mask_rcnn, env=env(models, table))
    assert_error(before, 1, f"Mask R-CNN folder not found: {models}/mask-rcnn-coco (run: bgblur --download mask-rcnn)")

    result = run_bgblur("--download", "all", env=env(models, table))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"bgblur: Mask R-CNN ready in {models}/mask-rcnn-coco (bgblur --mask-rcnn uses it)",
        f"bgblur: MediaPipe pose model ready in {models}/mediapipe-pose (--presence face-or-pose uses it)",
    ]
    assert sorted(server.requests) == ["/mediapipe.whl", "/mrcnn.tar.gz"]
    # Only the named members, as pinned, and the text files bgblur ships, as pinned; nothing else (no temp files).
    assert files_in(models) == {
        "mask-rcnn-coco/frozen_inference_graph.pb": digest(stand_in_pb),
        **{f"mask-rcnn-coco/{name}": f"sha256:{pin}" for name, pin in MASK_RCNN_TEXT_SHA256.items()},
        "mediapipe-pose/pose_landmark_full.tflite": digest(STAND_IN_TFLITE),
        "mediapipe-pose/LICENSE": digest(STAND_IN_LICENSE),
    }

    after = run_bgblur(*mask_rcnn, env=env(models, table))  # --mask-rcnn with no folder: the downloaded copy
    assert after.returncode == 0, after.stderr
    alpha = cv2.imread(str(matte), cv2.IMREAD_UNCHANGED)
    assert alpha.shape == cv2.imread(str(picture)).shape[:2] and alpha.max() == 255  # the stand-in finds "people"


def test_a_model_already_there_is_not_fetched_again_and_a_damaged_one_is(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "data"
    table = sources(tmp_path, {"pose": pose_entry(server, wheel())})
    for name, value in env(models, table).items():
        monkeypatch.setenv(name, value)
    status, drawn = run_bgblur_in_terminal("--download", "pose")  # on a terminal: pooch's progress bar
    assert status == 0 and "100%" in drawn, drawn
    assert server.requests == ["/mediapipe.whl"]
    placed = files_in(models)

    again = run_bgblur("--download", "pose")
    assert again.returncode == 0, again.stderr
    assert (
        again.stdout
        == f"bgblur: MediaPipe pose model is already in {models}/mediapipe-pose, as pinned: nothing to download\n"
    )
    assert again.stderr == ""
    assert server.requests == ["/mediapipe.whl"]  # no request at all

    (models / "mediapipe-pose" / "LICENSE").write_bytes(b"edited")
    mended = run_bgblur("--download", "pose")
    assert mended.returncode == 0 and "ready in" in mended.stdout, mended.stderr
    assert server.requests == ["/mediapipe.whl"] * 2 and files_in(models) == placed


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("cut", "the connection broke before the end of the file"),
        ("stall", "the server sent nothing for 2 s"),
        ("wrong archive", "is not the pinned file (sha256 differs"),
        ("wrong member", f"{PB_MEMBER} in http://"),
        ("closed port", "connection refused"),
        ("link", f"holds no file {PB_MEMBER}"),
    ],
)
def test_a_failed_download_is_one_line_and_leaves_nothing_behind(
    problem: str, message: str, server: Server, tmp_path: Path
) -> None:
    models = tmp_path / "data"
    pb = b"\x0a\x05stand-in graph" * 50_000
    archive = tar_gz({PB_MEMBER: pb})
    entry = mask_rcnn_entry(server, archive, pb, behaviour=problem if problem in ("cut", "stall") else "ok")
    if problem == "wrong archive":  # the server sends other bytes than the pinned ones
        server.routes["/mrcnn.tar.gz"] = ("ok", tar_gz({PB_MEMBER: pb[:-1] + b"!"}))
    if problem == "wrong member":  # the archive is as pinned, the graph in it is not
        entry["members"] = {PB_MEMBER: ["frozen_inference_graph.pb", digest(b"another graph", "sha1")]}
    if problem == "link":  # the graph's name in the archive is a link to a file outside it
        entry = mask_rcnn_entry(server, tar_gz({PB_MEMBER: Path("/etc/hostname")}), pb)
    if problem == "closed port":
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            entry["url"] = f"http://127.0.0.1:{probe.getsockname()[1]}/mrcnn.tar.gz"
    table = sources(tmp_path, {"timeout": [5, 2], "mask-rcnn": entry})
    # Never hangs: within 20 s, though pooch's own read timeout is 30 s, so the sources file's 2 s is the one used.
    result = run_bgblur("--download", "mask-rcnn", env=env(models, table), timeout=20)
    line = assert_error(result, 1, message)
    assert "Mask R-CNN" in line or "http://" in line, line
    assert not models.exists(), files_in(models)  # no partial file, no temporary file, not even the folder


def test_a_failed_download_keeps_the_files_that_were_there(server: Server, tmp_path: Path) -> None:
    models = tmp_path / "data"
    (models / "mask-rcnn-coco").mkdir(parents=True)
    (models / "mask-rcnn-coco" / "frozen_inference_graph.pb").write_bytes(b"an older, damaged copy")
    pb = b"\x0a\x05stand-in graph" * 50_000
    table = sources(tmp_path, {"mask-rcnn": mask_rcnn_entry(server, tar_gz({PB_MEMBER: pb}), pb, behaviour="cut")})
    assert_error(run_bgblur("--download", "mask-rcnn", env=env(models, table), timeout=60), 1, "broke before the end")
    assert files_in(models) == {"mask-rcnn-coco/frozen_inference_graph.pb": digest(b"an older, damaged copy")}


def test_all_fetches_what_it_can_and_names_what_failed(server: Server, tmp_path: Path) -> None:
    models = tmp_path / "data"
    with socket.socket() as probe:  # Mask R-CNN's server is down, the pose model's is up
        probe.bind(("127.0.0.1", 0))
        down = {"url": f"http://127.0.0.1:{probe.getsockname()[1]}/mrcnn.tar.gz"}
    table = sources(tmp_path, {"mask-rcnn": down, "pose": pose_entry(server, wheel())})
    result = run_bgblur("--download", "all", env=env(models, table), timeout=20)
    assert_error(result, 1, "cannot download Mask R-CNN", "bgblur --download mask-rcnn again")
    assert result.stdout.startswith("bgblur: MediaPipe pose model ready in ")
    assert sorted(files_in(models)) == ["mediapipe-pose/LICENSE", "mediapipe-pose/pose_landmark_full.tflite"]


def test_a_plain_http_mirror_is_refused(tmp_path: Path) -> None:
    table = sources(tmp_path, {"pose": {"url": "http://mirror.example/mediapipe.whl"}})
    result = run_bgblur("--download", "pose", env=env(tmp_path / "data", table))
    assert_error(result, 2, "BGBLUR_DOWNLOAD_SOURCES", "only https://")
    assert not (tmp_path / "data").exists()
