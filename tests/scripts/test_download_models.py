"""Tests for scripts/download_models.py against archives served by a local HTTP server (no internet)."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import socket
import stat
import subprocess
import sys
import tarfile
import threading
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "download_models.py"
MEMBER = "mask_rcnn_inception_v2_coco_2018_01_28/frozen_inference_graph.pb"
FAKE_PB = b"\x0a\x05fake!" + bytes(range(256)) * 64  # small stand-in for the 64 MB frozen graph
TEXT_NAMES = ("mask_rcnn_inception_v2_coco_2018_01_28.pbtxt", "object_detection_classes_coco.txt", "colors.txt")


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("download_models", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


dm = _load_script()


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    """The script as a user runs it, in its own process, from the repository."""
    return subprocess.run(
        [sys.executable, "scripts/download_models.py", *args], cwd=REPO, capture_output=True, text=True, timeout=60
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_archive(*members: tarfile.TarInfo | tuple[str, bytes]) -> bytes:
    """A .tar.gz holding *members*: (name, data) pairs become regular files, TarInfo objects go in as is."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member in members:
            if isinstance(member, tuple):
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(member, io.BytesIO(b"x" * member.size) if member.isreg() else None)
    return buffer.getvalue()


def good_archive(data: bytes = FAKE_PB) -> bytes:
    folder = tarfile.TarInfo("mask_rcnn_inception_v2_coco_2018_01_28")
    folder.type = tarfile.DIRTYPE
    return make_archive(
        folder, ("mask_rcnn_inception_v2_coco_2018_01_28/pipeline.config", b"model {}\n"), (MEMBER, data)
    )


def special(name: str, kind: bytes, linkname: str = "", size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = size
    return info


class Server:
    """A tiny HTTP server on 127.0.0.1 serving ``routes`` (path -> bytes, or ("redirect", url))."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes | tuple[str, str]] = {}
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                route = outer.routes.get(self.path)
                if route is None:
                    self.send_error(404, "Not Found")
                elif isinstance(route, tuple):
                    self.send_response(302)
                    self.send_header("Location", route[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(route)))
                    self.end_headers()
                    self.wfile.write(route)

            def log_message(self, format: str, *args: object) -> None:  # keep the test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, data: bytes) -> str:
        self.routes[path] = data
        return self.url(path)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.close()


@pytest.fixture()
def dest(tmp_path: Path, models_dir: Path) -> Path:
    """A model folder already holding the versioned text files (as in the repository)."""
    folder = tmp_path / "outer" / "mask-rcnn-coco"
    folder.mkdir(parents=True)
    for name in TEXT_NAMES:
        (folder / name).write_bytes((models_dir / "mask-rcnn-coco" / name).read_bytes())
    return folder


def listing(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = dm.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "error" in line]


# --- success ---------------------------------------------------------------------------------------------------


def test_success_places_member(server: Server, dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = good_archive()
    url = server.serve("/model.tar.gz", archive)
    code, out, err = run_main(capsys, "--dest", str(dest), "--archive-url", url, "--sha256", sha256(archive))
    assert code == 0, err
    model = dest / "frozen_inference_graph.pb"
    assert model.read_bytes() == FAKE_PB
    assert f"ready at {model.resolve()}" in out
    assert sha256(FAKE_PB) in err  # the extracted file's sha256 is reported
    # Only the one member, no temp files, no archive left behind, nothing else extracted.
    assert listing(dest) == {*TEXT_NAMES, "frozen_inference_graph.pb"}
    assert listing(dest.parent) == {"mask-rcnn-coco", *(f"mask-rcnn-coco/{n}" for n in listing(dest))}


def test_success_subprocess(server: Server, dest: Path) -> None:
    archive = good_archive()
    url = server.serve("/model.tar.gz", archive)
    proc = run_script("--dest", str(dest), "--archive-url", url, "--sha256", sha256(archive))
    assert proc.returncode == 0, proc.stderr
    assert (dest / "frozen_inference_graph.pb").read_bytes() == FAKE_PB
    assert (
        proc.stdout.strip()
        == f"download_models: Mask R-CNN weights ready at {(dest / 'frozen_inference_graph.pb').resolve()}"
    )
    assert "Traceback" not in proc.stderr


def test_replaces_existing_file_atomically(server: Server, dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (dest / "frozen_inference_graph.pb").write_bytes(b"old")
    archive = good_archive()
    url = server.serve("/model.tar.gz", archive)
    code, _, err = run_main(capsys, "--dest", str(dest), "--archive-url", url, "--sha256", sha256(archive))
    assert code == 0, err
    assert (dest / "frozen_inference_graph.pb").read_bytes() == FAKE_PB
    assert listing(dest) == {*TEXT_NAMES, "frozen_inference_graph.pb"}


def test_creates_missing_dest(pinned: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = good_archive(b"other weights")
    url = pinned.serve("/custom.tar.gz", archive)
    target = tmp_path / "new" / "folder"
    code, _, err = run_main(capsys, "--dest", str(target), "--archive-url", url, "--sha256", sha256(archive))
    assert code == 0, err
    assert (target / "frozen_inference_graph.pb").read_bytes() == b"other weights"
    assert (target / "colors.txt").read_bytes() == dm.COLORS_TXT  # written from the built-in constant
    assert listing(target) == {*TEXT_NAMES, "frozen_inference_graph.pb"}
    assert "/model.tar.gz" not in pinned.requests  # --archive-url replaces the default archive


# --- verification failures -------------------------------------------------------------------------------------


def test_wrong_sha256_leaves_nothing(server: Server, dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = server.serve("/model.tar.gz", good_archive())
    code, out, err = run_main(capsys, "--dest", str(dest), "--archive-url", url, "--sha256", "0" * 64)
    assert code == 1
    assert out == ""
    [line] = error_lines(err)
    assert line.startswith("download_models: error: sha256 mismatch for ")
    assert "download removed" in line
    assert listing(dest) == set(TEXT_NAMES)


def test_wrong_sha256_subprocess_single_error_line(server: Server, dest: Path) -> None:
    url = server.serve("/model.tar.gz", good_archive())
    proc = run_script("--dest", str(dest), "--archive-url", url, "--sha256", "ab" * 32)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("download_models: error: sha256 mismatch")
    assert len(error_lines(proc.stderr)) == 1
    assert listing(dest) == set(TEXT_NAMES)


UNSAFE = {
    "traversal": (special("../evil", tarfile.REGTYPE, size=4), "'..' in path"),
    "nested-traversal": (special("mask_rcnn_inception_v2_coco_2018_01_28/../../evil", tarfile.REGTYPE, size=4), "'..'"),
    "absolute": (special("/tmp/bgblur-evil-absolute", tarfile.REGTYPE, size=4), "absolute path"),
    "symlink": (special("mask_rcnn_inception_v2_coco_2018_01_28/link", tarfile.SYMTYPE, "/etc/passwd"), "link"),
    "symlink-as-member": (special(MEMBER, tarfile.SYMTYPE, "../../../evil"), "link"),
    "hardlink": (special("evil-hard", tarfile.LNKTYPE, "/etc/passwd"), "link"),
    "chardev": (special("evil-dev", tarfile.CHRTYPE), "device"),
    "fifo": (special("evil-fifo", tarfile.FIFOTYPE), "device"),
}


@pytest.mark.parametrize("case", sorted(UNSAFE))
@pytest.mark.parametrize("position", ["before", "after"])
def test_unsafe_member_refused(
    case: str, position: str, server: Server, dest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad, reason = UNSAFE[case]
    good = (MEMBER, FAKE_PB)
    members = (bad, good) if position == "before" else (good, bad)
    if case == "symlink-as-member":
        members = (bad,)
    archive = make_archive(*members)
    url = server.serve("/model.tar.gz", archive)
    before_outside = listing(tmp_path)
    code, out, err = run_main(capsys, "--dest", str(dest), "--archive-url", url, "--sha256", sha256(archive))
    assert code == 1
    assert out == ""
    [line] = error_lines(err)
    assert line.startswith("download_models: error: refusing archive: member ")
    assert reason in line
    # Nothing written: no model, no temp files, nothing next to or above DEST, no absolute-path file.
    assert listing(dest) == set(TEXT_NAMES)
    assert listing(tmp_path) == before_outside
    assert not Path("/tmp/bgblur-evil-absolute").exists()


def test_absolute_member_name_is_kept_in_archive() -> None:
    # Guards the "absolute" case above: tarfile must really write the leading slash.
    archive = make_archive(special("/tmp/bgblur-evil-absolute", tarfile.REGTYPE, size=4))
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        assert tar.getnames() == ["/tmp/bgblur-evil-absolute"]


def test_member_missing(server: Server, dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = make_archive(("other/frozen_inference_graph.pb", FAKE_PB))
    url = server.serve("/model.tar.gz", archive)
    code, _, err = run_main(capsys, "--dest", str(dest), "--archive-url", url, "--sha256", sha256(archive))
    assert code == 1
    assert f"the archive has no member '{MEMBER}'" in err
    assert listing(dest) == set(TEXT_NAMES)


def test_duplicate_member_refused(server: Server, dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = make_archive((MEMBER, FAKE_PB), (MEMBER, b"second copy"))
    url = server.serve("/model.tar.gz", archive)
    code, _, err = run_main(capsys, "--dest", str(dest), "--archive-url", url, "--sha256", sha256(archive))
    assert code == 1
    assert "appears more than once" in err
    assert listing(dest) == set(TEXT_NAMES)


def test_not_a_tarball(server: Server, dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = b"<html>not an archive</html>"
    url = server.serve("/model.tar.gz", data)
    code, _, err = run_main(capsys, "--dest", str(dest), "--archive-url", url, "--sha256", sha256(data))
    assert code == 1
    assert "download_models: error: cannot read the archive" in err
    assert listing(dest) == set(TEXT_NAMES)


# --- URL policy and network errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/model.tar.gz",
        "http://download.tensorflow.org/models/object_detection/mask_rcnn_inception_v2_coco_2018_01_28.tar.gz",
        "ftp://127.0.0.1/model.tar.gz",
        "file:///etc/passwd",
        "https:///no-host",
    ],
)
def test_non_https_url_refused(url: str, dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "--dest", str(dest), "--archive-url", url, "--sha256", "0" * 64)
    assert code == 2
    assert out == ""
    assert err.strip() == (
        f"download_models: error: refusing URL {url!r}: only https:// is allowed "
        "(plain http only to 127.0.0.1/localhost, for testing)"
    )
    assert listing(dest) == set(TEXT_NAMES)


def test_non_https_url_refused_subprocess(dest: Path) -> None:
    proc = run_script("--dest", str(dest), "--archive-url", "http://example.com/a.tgz", "--sha256", "0" * 64)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("download_models: error: refusing URL 'http://example.com/a.tgz'")


def test_redirect_to_plain_http_host_refused(server: Server, dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server.routes["/model.tar.gz"] = ("redirect", "http://example.com/model.tar.gz")
    code, _, err = run_main(
        capsys, "--dest", str(dest), "--archive-url", server.url("/model.tar.gz"), "--sha256", "0" * 64
    )
    assert code == 1
    [line] = error_lines(err)
    assert line.startswith("download_models: error: refusing redirect from ")
    assert listing(dest) == set(TEXT_NAMES)


def test_redirect_on_loopback_followed(server: Server, dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = good_archive()
    real = server.serve("/real.tar.gz", archive)
    server.routes["/model.tar.gz"] = ("redirect", real)
    code, _, err = run_main(
        capsys, "--dest", str(dest), "--archive-url", server.url("/model.tar.gz"), "--sha256", sha256(archive)
    )
    assert code == 0, err
    assert (dest / "frozen_inference_graph.pb").read_bytes() == FAKE_PB


def test_http_404(server: Server, dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = server.url("/missing.tar.gz")
    code, out, err = run_main(capsys, "--dest", str(dest), "--archive-url", url, "--sha256", "0" * 64)
    assert code == 1
    assert out == ""
    [line] = error_lines(err)
    assert line == f"download_models: error: HTTP 404 Not Found for {url}"
    assert listing(dest) == set(TEXT_NAMES)


def test_http_404_subprocess(server: Server, dest: Path) -> None:
    url = server.url("/missing.tar.gz")
    proc = run_script("--dest", str(dest), "--archive-url", url, "--sha256", "0" * 64)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == f"download_models: error: HTTP 404 Not Found for {url}"
    assert listing(dest) == set(TEXT_NAMES)


def test_connection_refused(dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # find a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/model.tar.gz"
    code, _, err = run_main(capsys, "--dest", str(dest), "--archive-url", url, "--sha256", "0" * 64)
    assert code == 1
    [line] = error_lines(err)
    assert line.startswith(f"download_models: error: cannot reach {url}: ")
    assert listing(dest) == set(TEXT_NAMES)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sha256", "0" * 64], "--sha256 is only honoured together with --archive-url"),
        (["--archive-url", "https://example.com/a.tar.gz"], "--archive-url needs --sha256"),
    ],
)
def test_override_pairing(argv: list[str], message: str, dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "--dest", str(dest), *argv)
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith(f"download_models: error: {message}")
    assert listing(dest) == set(TEXT_NAMES)


def test_bad_sha256_argument(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        dm.main(["--archive-url", "https://example.com/a.tar.gz", "--sha256", "xyz"])
    assert exc.value.code == 2
    assert "expected 64 hexadecimal digits" in capsys.readouterr().err


# --- the pinned default source (pins swapped for a local server) -----------------------------------------------


@pytest.fixture()
def pinned(server: Server, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Server:
    """Point the default archive and the text files at the local server, with pins that fit what it serves."""
    archive = good_archive()
    server.serve("/model.tar.gz", archive)
    spec = replace(
        dm.DEFAULT_ARCHIVE,
        url=server.url("/model.tar.gz"),
        sha256=sha256(archive),
        size=len(archive),
        sha1=hashlib.sha1(archive).hexdigest(),
        members=(replace(dm.DEFAULT_ARCHIVE.members[0], sha1=hashlib.sha1(FAKE_PB).hexdigest()),),
    )
    monkeypatch.setattr(dm, "DEFAULT_ARCHIVE", spec)
    texts = []
    for text in dm.TEXT_FILES:
        if text.content is None:
            # Serve the real files: their pinned sha256 values must match the shared copies.
            server.serve(f"/text/{text.name}", (models_dir / "mask-rcnn-coco" / text.name).read_bytes())
            text = replace(text, url=server.url(f"/text/{text.name}"))
        texts.append(text)
    monkeypatch.setattr(dm, "TEXT_FILES", tuple(texts))
    return server


def test_default_pins_are_well_formed() -> None:
    spec = dm.DEFAULT_ARCHIVE
    assert spec.url.startswith("https://download.tensorflow.org/")
    assert spec.url.endswith("/mask_rcnn_inception_v2_coco_2018_01_28.tar.gz")
    [member] = spec.members
    assert len(spec.sha256) == 64 and len(spec.sha1) == 40 and len(member.sha1) == 40
    assert (member.name, member.filename, spec.format) == (MEMBER, "frozen_inference_graph.pb", "tar.gz")
    for text in dm.TEXT_FILES:
        assert text.content is not None or text.url.startswith("https://raw.githubusercontent.com/opencv/")


def test_pinned_text_hashes_match_shared_copies(models_dir: Path) -> None:
    for text in dm.TEXT_FILES:
        assert sha256((models_dir / "mask-rcnn-coco" / text.name).read_bytes()) == text.sha256, text.name


def test_default_fetches_text_files_then_skips(
    pinned: Server, tmp_path: Path, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "fresh"
    code, out, err = run_main(capsys, "--dest", str(target))
    assert code == 0, err
    assert listing(target) == {*TEXT_NAMES, "frozen_inference_graph.pb"}
    for name in TEXT_NAMES:
        assert (target / name).read_bytes() == (models_dir / "mask-rcnn-coco" / name).read_bytes()
    assert (target / "frozen_inference_graph.pb").read_bytes() == FAKE_PB
    assert "ready at" in out
    fetched = list(pinned.requests)
    assert "/model.tar.gz" in fetched

    # Second run: the file is there with the pinned hash, so nothing is downloaded at all.
    code, out, err = run_main(capsys, "--dest", str(target))
    assert code == 0, err
    assert pinned.requests == fetched
    assert "ready at" in out

    # --force downloads the archive again (but leaves the versioned text files alone).
    (target / "colors.txt").write_bytes(b"1,2,3\n")
    code, _, err = run_main(capsys, "--dest", str(target), "--force")
    assert code == 0, err
    assert pinned.requests == [*fetched, "/model.tar.gz"]
    assert (target / "colors.txt").read_bytes() == b"1,2,3\n"


def test_default_redownloads_corrupt_file(pinned: Server, dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (dest / "frozen_inference_graph.pb").write_bytes(FAKE_PB[:-1] + b"?")
    code, _, err = run_main(capsys, "--dest", str(dest))
    assert code == 0, err
    assert "does not match the pinned hash" in err
    assert (dest / "frozen_inference_graph.pb").read_bytes() == FAKE_PB


def test_default_member_hash_mismatch(
    pinned: Server, dest: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    member = replace(dm.DEFAULT_ARCHIVE.members[0], sha1="0" * 40)
    monkeypatch.setattr(dm, "DEFAULT_ARCHIVE", replace(dm.DEFAULT_ARCHIVE, members=(member,)))
    code, _, err = run_main(capsys, "--dest", str(dest))
    assert code == 1
    [line] = error_lines(err)
    assert line.startswith(f"download_models: error: sha1 mismatch for {MEMBER}")
    assert listing(dest) == set(TEXT_NAMES)


@pytest.mark.parametrize("field", ["size", "sha1"])
def test_default_archive_pin_mismatch(
    field: str, pinned: Server, dest: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {"size": dm.DEFAULT_ARCHIVE.size + 1, "sha1": "f" * 40}[field]
    monkeypatch.setattr(dm, "DEFAULT_ARCHIVE", replace(dm.DEFAULT_ARCHIVE, **{field: bad}))
    code, _, err = run_main(capsys, "--dest", str(dest))
    assert code == 1
    [line] = error_lines(err)
    assert line.startswith(f"download_models: error: {field} mismatch for ")
    assert listing(dest) == set(TEXT_NAMES)


def test_oversized_download_stopped(
    pinned: Server, dest: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(dm, "DEFAULT_ARCHIVE", replace(dm.DEFAULT_ARCHIVE, size=100))
    code, _, err = run_main(capsys, "--dest", str(dest))
    assert code == 1
    assert "more than the expected 100" in err
    assert listing(dest) == set(TEXT_NAMES)


def test_text_file_hash_mismatch(pinned: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pinned.serve("/text/object_detection_classes_coco.txt", b"cat\ndog\n")
    target = tmp_path / "fresh"
    code, _, err = run_main(capsys, "--dest", str(target))
    assert code == 1
    [line] = error_lines(err)
    assert line.startswith("download_models: error: sha256 mismatch for object_detection_classes_coco.txt")
    assert "object_detection_classes_coco.txt" not in listing(target)
    assert "frozen_inference_graph.pb" not in listing(target)
    assert not [name for name in listing(target) if name.endswith(".part")]


# --- --pose: MediaPipe's pose landmark model out of the mediapipe wheel (a zip; pins swapped for a local server) --

POSE_MEMBER = "mediapipe/modules/pose_landmark/pose_landmark_full.tflite"
LICENSE_MEMBER = "mediapipe-0.10.14.dist-info/LICENSE"
FAKE_TFLITE = b"\x1c\x00\x00\x00TFL3" + bytes(range(255, -1, -1)) * 32  # stand-in for the 6 MB model
FAKE_LICENSE = b"Apache License\nVersion 2.0, January 2004\n"
POSE_FILES = {"pose_landmark_full.tflite", "LICENSE"}


def make_wheel(*members: zipfile.ZipInfo | tuple[str | zipfile.ZipInfo, bytes]) -> bytes:
    """A zip (a stand-in wheel) holding *members*: (name or ZipInfo, data) pairs; a bare ZipInfo gets b"x"."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name" is what one test wants
        for member in members:
            name, data = member if isinstance(member, tuple) else (member, b"x")
            zf.writestr(name, data)
    return buffer.getvalue()


def good_wheel(tflite: bytes = FAKE_TFLITE, license_text: bytes = FAKE_LICENSE) -> bytes:
    return make_wheel(
        ("mediapipe/__init__.py", b"# fake\n"),
        (POSE_MEMBER, tflite),
        ("mediapipe/modules/pose_landmark/pose_landmark_lite.tflite", b"other model"),
        (LICENSE_MEMBER, license_text),
        ("mediapipe-0.10.14.dist-info/RECORD", b""),
    )


def zip_special(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    return info


def serve_wheel(server: Server, monkeypatch: pytest.MonkeyPatch, wheel: bytes) -> None:
    """Serve *wheel* and point POSE_ARCHIVE at it, with wheel and member pins that fit the good stand-ins."""
    server.serve("/mediapipe.whl", wheel)
    tflite, license_member = dm.POSE_ARCHIVE.members
    spec = replace(
        dm.POSE_ARCHIVE,
        url=server.url("/mediapipe.whl"),
        sha256=sha256(wheel),
        size=len(wheel),
        members=(
            replace(tflite, sha256=sha256(FAKE_TFLITE), size=len(FAKE_TFLITE)),
            replace(license_member, sha256=sha256(FAKE_LICENSE), size=len(FAKE_LICENSE)),
        ),
    )
    monkeypatch.setattr(dm, "POSE_ARCHIVE", spec)


@pytest.fixture()
def pose(server: Server, monkeypatch: pytest.MonkeyPatch) -> Server:
    serve_wheel(server, monkeypatch, good_wheel())
    return server


@pytest.fixture()
def pose_dest(tmp_path: Path) -> Path:
    return tmp_path / "outer" / "mediapipe-pose"


def test_pose_pins_are_well_formed() -> None:
    spec = dm.POSE_ARCHIVE
    assert spec.url.startswith("https://files.pythonhosted.org/packages/")
    assert spec.url.endswith("/mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
    assert (spec.format, spec.size, len(spec.sha256)) == ("zip", 35_664_771, 64)
    assert [(m.name, m.filename, m.size) for m in spec.members] == [
        (POSE_MEMBER, "pose_landmark_full.tflite", 6_440_512),
        (LICENSE_MEMBER, "LICENSE", 12_331),
    ]
    assert all(m.sha256 is not None and len(m.sha256) == 64 for m in spec.members)
    assert dm.POSE_DEST == REPO / "models" / "mediapipe-pose"


def test_pose_places_files(pose: Server, pose_dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "--pose", "--dest", str(pose_dest))
    assert code == 0, err
    assert (pose_dest / "pose_landmark_full.tflite").read_bytes() == FAKE_TFLITE
    assert (pose_dest / "LICENSE").read_bytes() == FAKE_LICENSE
    assert out == (
        "download_models: MediaPipe pose landmark model ready at "
        f"{(pose_dest / 'pose_landmark_full.tflite').resolve()}\n"
    )
    assert f"pose_landmark_full.tflite: sha256 {sha256(FAKE_TFLITE)}" in err
    assert f"LICENSE: sha256 {sha256(FAKE_LICENSE)}" in err
    # Only the two members: no wheel, no temp files, no other wheel content, no Mask R-CNN text files.
    assert listing(pose_dest) == POSE_FILES
    assert listing(pose_dest.parent) == {"mediapipe-pose", *(f"mediapipe-pose/{n}" for n in POSE_FILES)}
    assert pose.requests == ["/mediapipe.whl"]


def test_pose_default_dest(
    pose: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "models" / "mediapipe-pose"
    monkeypatch.setattr(dm, "POSE_DEST", target)
    code, out, err = run_main(capsys, "--pose")
    assert code == 0, err
    assert listing(target) == POSE_FILES
    assert f"ready at {(target / 'pose_landmark_full.tflite').resolve()}" in out


def test_pose_wrong_wheel_sha256_leaves_nothing(
    pose: Server, pose_dest: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(dm, "POSE_ARCHIVE", replace(dm.POSE_ARCHIVE, sha256="0" * 64))
    code, out, err = run_main(capsys, "--pose", "--dest", str(pose_dest))
    assert code == 1
    assert out == ""
    [line] = error_lines(err)
    assert line.startswith(f"download_models: error: sha256 mismatch for {dm.POSE_ARCHIVE.url}: ")
    assert "download removed" in line
    assert listing(pose_dest) == set()


@pytest.mark.parametrize("index", [0, 1])
@pytest.mark.parametrize("field", ["sha256", "size"])
def test_pose_member_pin_mismatch_leaves_nothing(
    index: int,
    field: str,
    pose: Server,
    pose_dest: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    members = list(dm.POSE_ARCHIVE.members)
    bad = {"sha256": "0" * 64, "size": (members[index].size or 0) + 1}[field]
    members[index] = replace(members[index], **{field: bad})
    monkeypatch.setattr(dm, "POSE_ARCHIVE", replace(dm.POSE_ARCHIVE, members=tuple(members)))
    code, out, err = run_main(capsys, "--pose", "--dest", str(pose_dest))
    assert code == 1
    assert out == ""
    [line] = error_lines(err)
    assert line.startswith(f"download_models: error: {field} mismatch for {members[index].name}: ")
    assert line.endswith("nothing written")
    # Neither member is published, even the one that matched: the folder is all or nothing.
    assert listing(pose_dest) == set()


def test_pose_member_missing(
    server: Server, pose_dest: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_wheel(server, monkeypatch, make_wheel((POSE_MEMBER, FAKE_TFLITE), ("mediapipe/LICENSE", FAKE_LICENSE)))
    code, out, err = run_main(capsys, "--pose", "--dest", str(pose_dest))
    assert code == 1
    assert out == ""
    assert err.splitlines()[-1] == f"download_models: error: the archive has no member '{LICENSE_MEMBER}'"
    assert len(error_lines(err)) == 1
    assert listing(pose_dest) == set()


def test_pose_not_a_zip(
    server: Server, pose_dest: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_wheel(server, monkeypatch, good_archive())  # a tar.gz is not a wheel
    code, _, err = run_main(capsys, "--pose", "--dest", str(pose_dest))
    assert code == 1
    [line] = error_lines(err)
    assert line.startswith("download_models: error: cannot read the archive: ")
    assert listing(pose_dest) == set()


def test_pose_duplicate_member_refused(
    server: Server, pose_dest: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = make_wheel((POSE_MEMBER, FAKE_TFLITE), (LICENSE_MEMBER, FAKE_LICENSE), (POSE_MEMBER, FAKE_TFLITE))
    serve_wheel(server, monkeypatch, wheel)
    code, _, err = run_main(capsys, "--pose", "--dest", str(pose_dest))
    assert code == 1
    [line] = error_lines(err)
    assert "appears more than once" in line
    assert listing(pose_dest) == set()


UNSAFE_ZIP = {
    "traversal": (("../evil", b"evil"), "'..' in path"),
    "backslash-traversal": (("mediapipe\\..\\..\\evil", b"evil"), "'..' in path"),
    "absolute": (("/tmp/bgblur-evil-zip-absolute", b"evil"), "absolute path"),
    "drive": (("C:/evil", b"evil"), "absolute path"),
    "symlink": (zip_special("mediapipe/link", stat.S_IFLNK | 0o777), "link"),
    "symlink-as-member": (zip_special(POSE_MEMBER, stat.S_IFLNK | 0o777), "link"),
    "fifo": (zip_special("mediapipe/fifo", stat.S_IFIFO | 0o644), "device"),
}


@pytest.mark.parametrize("case", sorted(UNSAFE_ZIP))
@pytest.mark.parametrize("position", ["before", "after"])
def test_pose_unsafe_member_refused(
    case: str,
    position: str,
    server: Server,
    pose_dest: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad, reason = UNSAFE_ZIP[case]
    good = ((POSE_MEMBER, FAKE_TFLITE), (LICENSE_MEMBER, FAKE_LICENSE))
    members = (bad, *good) if position == "before" else (*good, bad)
    if case == "symlink-as-member":
        members = (bad, good[1])
    wheel = make_wheel(*members)
    bad_name = bad.filename if isinstance(bad, zipfile.ZipInfo) else bad[0]
    with zipfile.ZipFile(io.BytesIO(wheel)) as zf:  # guards the cases: zipfile keeps hostile names as written
        assert bad_name in zf.namelist()
    serve_wheel(server, monkeypatch, wheel)
    before_outside = listing(tmp_path)
    code, out, err = run_main(capsys, "--pose", "--dest", str(pose_dest))
    assert code == 1
    assert out == ""
    [line] = error_lines(err)
    assert line.startswith("download_models: error: refusing archive: member ")
    assert reason in line
    assert listing(pose_dest) == set()
    assert listing(tmp_path) == before_outside | {"outer", "outer/mediapipe-pose"}
    assert not Path("/tmp/bgblur-evil-zip-absolute").exists()


def test_pose_already_present_skips_download(pose: Server, pose_dest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "--pose", "--dest", str(pose_dest))
    assert code == 0, err
    assert pose.requests == ["/mediapipe.whl"]

    # Both files there with the pinned hashes: nothing is downloaded.
    code, out, err = run_main(capsys, "--pose", "--dest", str(pose_dest))
    assert code == 0, err
    assert pose.requests == ["/mediapipe.whl"]
    assert "ready at" in out
    assert "downloading" not in err

    # --force downloads again.
    code, _, err = run_main(capsys, "--pose", "--dest", str(pose_dest), "--force")
    assert code == 0, err
    assert pose.requests == ["/mediapipe.whl"] * 2

    # One file changed (or missing): the wheel is fetched again and both files are restored.
    (pose_dest / "LICENSE").write_bytes(b"edited")
    code, _, err = run_main(capsys, "--pose", "--dest", str(pose_dest))
    assert code == 0, err
    assert "does not match the pinned hash" in err
    (pose_dest / "pose_landmark_full.tflite").unlink()
    code, _, err = run_main(capsys, "--pose", "--dest", str(pose_dest))
    assert code == 0, err
    assert pose.requests == ["/mediapipe.whl"] * 4
    assert (pose_dest / "LICENSE").read_bytes() == FAKE_LICENSE
    assert (pose_dest / "pose_landmark_full.tflite").read_bytes() == FAKE_TFLITE
    assert listing(pose_dest) == POSE_FILES


POSE_CONFLICTS = [
    ["--archive-url", "https://example.com/a.tar.gz", "--sha256", "0" * 64],
    ["--archive-url", "https://example.com/a.tar.gz"],
    ["--sha256", "0" * 64],
]


@pytest.mark.parametrize("argv", POSE_CONFLICTS)
def test_pose_conflicting_option(
    argv: list[str], pose: Server, pose_dest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(capsys, "--pose", "--dest", str(pose_dest), *argv)
    assert code == 2
    assert out == ""
    assert err == (
        "download_models: error: --archive-url and --sha256 apply to the Mask R-CNN archive only; "
        "they cannot be used with --pose\n"
    )
    assert pose.requests == []
    assert not pose_dest.exists()


def test_pose_conflicting_option_subprocess(pose_dest: Path) -> None:
    proc = run_script("--pose", "--dest", str(pose_dest), *POSE_CONFLICTS[0])
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("download_models: error: --archive-url and --sha256 apply to the Mask R-CNN")
    assert not pose_dest.exists()
