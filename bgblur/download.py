"""``bgblur --download NAME``: fetch a model too big (or not ours) to ship with the package, into the data folder.

Each model comes from one pinned archive: the TF model zoo's tar.gz for Mask R-CNN, the mediapipe 0.10.14 wheel
on PyPI for the pose model. pooch downloads it into a temporary folder beside the model's folder and keeps it only
when its hash matches; only the named members are taken out (pooch's Untar/Unzip), each checked against its own
pin, and they are moved to their final names only once every file is right. A failure removes the temporary
folder, so no final name ever holds a partial or unchecked file. Files already there and matching their pins are
not fetched again: a second run makes no request at all.

``$BGBLUR_DOWNLOAD_SOURCES`` names a JSON file that replaces sources (a mirror; the tests' local server)::

    {"timeout": [10, 30],
     "pose": {"url": "https://mirror.example/mediapipe.whl", "known_hash": "sha256:HEX",
              "members": {"path/in/archive": ["file name in the folder", "sha256:HEX"]}}}
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sys
import tarfile
import tempfile
import urllib.parse
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from bgblur import __version__
from bgblur.errors import BgblurError, UsageError, info
from bgblur.models import (
    MASK_RCNN_DIR,
    MASK_RCNN_PINS,
    MASK_RCNN_TEXT_DIR,
    MASK_RCNN_TEXT_SHA256,
    MASK_RCNN_WEIGHTS,
    POSE_MODEL,
    POSE_PINS,
    matches_pin,
)

NAMES = ("mask-rcnn", "pose")
# s to connect, s without a byte from the server: a dead network or server ends the run, it never hangs it.
TIMEOUT = (10.0, 30.0)
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# What reading a broken tar.gz or zip raises (zipfile: NotImplementedError for an unknown compression method).
ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError)


@dataclass(frozen=True)
class Source:
    """One model: the pinned archive it comes from, the members taken out of it, the folder they go to."""

    name: str  # as in bgblur --download NAME
    title: str
    folder: Path
    url: str
    known_hash: str  # of the archive, "sha256:HEX" (pooch's form)
    members: dict[str, tuple[str, str]]  # path in the archive -> (file name in the folder, its pin)
    unpack: str = "tar"  # or "zip" (a wheel)
    bundled: dict[str, str] = field(default_factory=dict)  # file name -> pin: copied from MASK_RCNN_TEXT_DIR
    use: str = ""  # what uses it, for the last line


# The TF model-zoo archive's sha256 is copied from a public source (never computed here): openvinotoolkit/
# open_model_zoo, models/public/mask_rcnn_inception_v2_coco/model.yml @ 2434738642c04413e42b6160396afa5b743a274a.
# The sha1 of its frozen_inference_graph.pb: opencv/opencv_extra, testdata/dnn/download_models.py
# @ 00a935f9a713f8aef4cddae0e513b026b59c7d8c (no published sha256 of the extracted .pb was found). The text graph,
# labels and colours ship with bgblur (MASK_RCNN_TEXT_DIR, 184 KB): the pbtxt's sha1 equals the one opencv_extra
# pins for it, and shipping them spares a second, moving-branch GitHub URL for three small versioned files.
MASK_RCNN = Source(
    name="mask-rcnn",
    title="Mask R-CNN",
    folder=MASK_RCNN_DIR,
    url="https://download.tensorflow.org/models/object_detection/mask_rcnn_inception_v2_coco_2018_01_28.tar.gz",
    known_hash="sha256:4f57861c2ff1c87e92495789ee266e41a7dc79a038521d93a153be403b0b601f",
    members={
        f"mask_rcnn_inception_v2_coco_2018_01_28/{MASK_RCNN_WEIGHTS}": (
            MASK_RCNN_WEIGHTS,
            MASK_RCNN_PINS[MASK_RCNN_WEIGHTS],
        )
    },
    bundled={name: MASK_RCNN_PINS[name] for name in MASK_RCNN_TEXT_SHA256},
    use=" (bgblur --mask-rcnn uses it)",
)
# MediaPipe's pose landmark model, from the mediapipe 0.10.14 wheel on PyPI (Apache-2.0; the .tflite is the same in
# every platform's wheel, this one is only a container). The wheel's sha256: PyPI's simple index (#sha256= of this
# file); the two members' sha256: computed from that pinned wheel (no upstream publishes them).
POSE = Source(
    name="pose",
    title="MediaPipe pose model",
    folder=POSE_MODEL.parent,
    url="https://files.pythonhosted.org/packages/2f/ee/2e9e730dc4d98c8a9541b57bad173bebddf0e4c78f179acc100248c58066/"
    "mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    known_hash="sha256:a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4",
    members={
        f"mediapipe/modules/pose_landmark/{POSE_MODEL.name}": (POSE_MODEL.name, POSE_PINS[POSE_MODEL.name]),
        "mediapipe-0.10.14.dist-info/LICENSE": ("LICENSE", POSE_PINS["LICENSE"]),
    },
    unpack="zip",
    use=" (--presence face-or-pose uses it)",
)
SOURCES = {source.name: source for source in (MASK_RCNN, POSE)}


def download(name: str, quiet: bool = False) -> int:
    """Fetch model ``name`` (one of :data:`NAMES`, or "all") unless it is already there as pinned; one line each on
    stdout, notes and the progress bar on stderr (none with ``quiet``). Raises BgblurError on any failure."""
    table, timeout = load_sources(os.environ.get("BGBLUR_DOWNLOAD_SOURCES"))
    failed: list[tuple[str, BgblurError]] = []
    for key in NAMES if name == "all" else (name,):
        source = table[key]
        if is_present(source):
            print(f"bgblur: {source.title} is already in {source.folder}, as pinned: nothing to download", flush=True)
            continue
        try:
            fetch(source, timeout, quiet)
        except BgblurError as exc:  # "all": one model's server being down must not keep the other one away
            failed.append((key, exc))
            continue
        print(f"bgblur: {source.title} ready in {source.folder}{source.use}", flush=True)
    if failed:
        others = f" (and {', '.join(key for key, _ in failed[1:])} failed too)" if len(failed) > 1 else ""
        raise BgblurError(f"{failed[0][1]}{others}")
    return 0


def is_present(source: Source) -> bool:
    """Every file of ``source`` is in its folder and matches its pin."""
    files = dict(source.members.values()) | source.bundled
    return all(matches_pin(source.folder / name, pin) for name, pin in files.items())


def fetch(source: Source, timeout: tuple[float, float], quiet: bool = False) -> None:
    """Put every file of ``source`` that is missing or differs from its pin into its folder, or raise BgblurError
    and leave the folder as it was (folders this call made are removed again)."""
    made = _make_folder(source.folder)
    try:
        staging = Path(tempfile.mkdtemp(prefix=".bgblur-download-", dir=source.folder))
    except OSError as exc:
        _remove_empty(made)
        raise BgblurError(f"cannot write to {source.folder}: {exc.strerror or exc}") from None
    try:
        staged = _copy_bundled(source, staging)
        if any(not matches_pin(source.folder / name, pin) for name, pin in source.members.values()):
            if not quiet:
                info(f"downloading {source.title} from {source.url}")
            staged |= _unpack(source, _retrieve(source, staging, timeout, quiet), staging)
        for name, path in staged.items():
            path.chmod(0o644)  # temporary files are private; the model files are not secret
            os.replace(path, source.folder / name)  # same folder, so an atomic rename
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_empty(made)
        if isinstance(exc, OSError):  # disk full, permission denied: pooch's errors are turned into ours first
            raise BgblurError(f"cannot write to {source.folder}: {exc.strerror or exc}") from None
        raise
    shutil.rmtree(staging, ignore_errors=True)


def _retrieve(source: Source, staging: Path, timeout: tuple[float, float], quiet: bool) -> Path:
    """Download ``source``'s archive into ``staging`` with pooch, checked against its pin; returns its path."""
    import pooch
    import requests

    pooch.get_logger().setLevel("WARNING")  # its "Downloading ..." notes: ours say it once, in bgblur's words
    downloader = pooch.HTTPDownloader(
        progressbar=not quiet and sys.stderr.isatty(),
        timeout=timeout,
        headers={"User-Agent": f"bgblur/{__version__}"},
        chunk_size=1 << 16,
    )
    again = f"bgblur --download {source.name}"
    try:
        path = pooch.retrieve(source.url, source.known_hash, fname="archive", path=staging, downloader=downloader)
    except requests.RequestException as exc:
        raise BgblurError(
            f"cannot download {source.title} from {source.url}: {_reason(exc, timeout)}: check the network "
            f"connection (or proxy) and run {again} again"
        ) from None
    except ValueError:  # pooch's hash mismatch: the download is already deleted
        algorithm = source.known_hash.partition(":")[0]
        raise BgblurError(
            f"{source.url} is not the pinned file ({algorithm} differs: changed upstream or damaged on the way), "
            f"nothing was kept: run {again} again; if it fails again, report it"
        ) from None
    return Path(path)


def _reason(exc: BaseException, timeout: tuple[float, float]) -> str:
    """A few words on why a request failed, from requests' (long, nested) exception."""
    import requests

    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"the server answered HTTP {exc.response.status_code} {exc.response.reason}"
    if isinstance(exc, requests.ConnectTimeout):
        return f"no connection within {timeout[0]:g} s"
    if isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower():
        return f"the server sent nothing for {timeout[1]:g} s"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the connection broke before the end of the file"
    seen: list[BaseException] = []  # (a short chain: compared by identity, as a cycle guard)
    pending: list[object] = [exc]
    while pending:  # the socket's own error is somewhere in the chain: "Connection refused", a DNS failure, ...
        error = pending.pop()
        if not isinstance(error, BaseException) or any(error is old for old in seen):
            continue
        seen.append(error)
        if isinstance(error, socket.gaierror):
            return f"cannot look up the server's name ({error.strerror}: offline?)"
        if isinstance(error, OSError) and error.strerror:
            return error.strerror
        pending += [error.__cause__, error.__context__, getattr(error, "reason", None), *error.args]
    return type(exc).__name__


def _unpack(source: Source, archive: Path, staging: Path) -> dict[str, Path]:
    """Take ``source``'s members (only those) out of ``archive`` into ``staging``; file name -> staged path."""
    import pooch

    extractor = pooch.Untar if source.unpack == "tar" else pooch.Unzip
    try:
        extractor(members=list(source.members), extract_dir="unpacked")(str(archive), "download", None)
    except ARCHIVE_ERRORS as exc:
        raise BgblurError(f"cannot read the archive from {source.url}: {exc}") from None
    staged = {}
    for member, (name, pin) in source.members.items():
        path = staging / "unpacked" / member
        if path.is_symlink() or not path.is_file():  # a link in an archive is never followed
            raise BgblurError(f"the archive from {source.url} holds no file {member}: nothing was kept")
        if not matches_pin(path, pin):
            raise BgblurError(f"{member} in {source.url} is not the pinned file: nothing was kept")
        staged[name] = path
    return staged


def _copy_bundled(source: Source, staging: Path) -> dict[str, Path]:
    """Copy the files bgblur ships for ``source`` that are missing or differ in its folder into ``staging``."""
    staged = {}
    for name, pin in source.bundled.items():
        if matches_pin(source.folder / name, pin):
            continue
        target = staging / name
        shutil.copyfile(MASK_RCNN_TEXT_DIR / name, target)
        if not matches_pin(target, pin):
            raise BgblurError(
                f"bgblur's own {MASK_RCNN_TEXT_DIR / name} is damaged: pip install --force-reinstall bgblur"
            )
        staged[name] = target
    return staged


def _make_folder(folder: Path) -> list[Path]:
    """Make ``folder`` (and its parents); returns the folders made, deepest first."""
    made = []
    parent = folder
    while not parent.exists() and parent != parent.parent:
        made.append(parent)
        parent = parent.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # FileExistsError too: a file where the folder should be
        raise BgblurError(f"cannot make the model folder {folder}: {exc.strerror or exc}") from None
    return made


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone): leave it, and its parents
            return


def load_sources(path: str | None) -> tuple[dict[str, Source], tuple[float, float]]:
    """The sources and timeouts: the built-in ones, with what the JSON file at ``path`` replaces (None: none)."""
    if not path:
        return SOURCES, TIMEOUT
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        timeout = tuple(float(seconds) for seconds in data.pop("timeout", TIMEOUT))
        if len(timeout) != 2 or min(timeout) <= 0:
            raise ValueError("timeout must be [connect seconds, read seconds]")
        table = dict(SOURCES)
        for name, entry in data.items():
            if name not in table or not set(entry) <= {"url", "known_hash", "members"}:
                raise ValueError(f"unknown entry {name!r} (or key in it)")
            if "members" in entry:
                entry["members"] = {member: _member(member, *where) for member, where in entry["members"].items()}
            table[name] = replace(table[name], **entry)
            _check(table[name])
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise UsageError(f"BGBLUR_DOWNLOAD_SOURCES={path}: not a usable sources file: {exc}") from None
    return table, (timeout[0], timeout[1])


def _member(member: str, name: str, pin: str) -> tuple[str, str]:
    inside = PurePosixPath(member)
    if inside.is_absolute() or ".." in inside.parts or Path(name).name != name:
        raise ValueError(f"member {member!r} -> {name!r}: a relative path inside the archive to a plain file name")
    return name, _pin(pin)


def _pin(pin: str) -> str:
    algorithm, _, digest = pin.partition(":")
    if algorithm not in hashlib.algorithms_guaranteed or not digest or set(digest.lower()) - set("0123456789abcdef"):
        raise ValueError(f"{pin!r} is not a pin like sha256:HEX")
    return pin


def _check(source: Source) -> None:
    """Refuse a source that is not https (plain http only to this machine, for tests) or has a bad pin."""
    parts = urllib.parse.urlsplit(source.url)
    if not (parts.scheme == "https" and parts.hostname) and not (parts.scheme == "http" and parts.hostname in LOOPBACK):
        raise ValueError(f"{source.url!r}: only https:// (plain http:// only to 127.0.0.1 or localhost)")
    _pin(source.known_hash)
