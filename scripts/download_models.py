#!/usr/bin/env python3
"""Fetch the Mask R-CNN Inception v2 COCO weights (TF model zoo, 2018_01_28) for bgblur.

The 64 MB ``frozen_inference_graph.pb`` is not versioned in git.  This script downloads the
TensorFlow model-zoo archive over HTTPS, checks it against pinned hashes, and extracts only
``mask_rcnn_inception_v2_coco_2018_01_28/frozen_inference_graph.pb`` into the model folder
(default ``models/mask-rcnn-coco`` next to this script's repository).  The text graph, labels
and colours are versioned; they are fetched (and hash-checked) only when missing from the folder.

Usage::

    python scripts/download_models.py                 # into models/mask-rcnn-coco
    python scripts/download_models.py --dest DIR      # somewhere else
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
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, Any

PROG = "download_models"
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DEST = REPO / "models" / "mask-rcnn-coco"
MODEL_FILENAME = "frozen_inference_graph.pb"
MEMBER = "mask_rcnn_inception_v2_coco_2018_01_28/frozen_inference_graph.pb"

CHUNK = 1 << 20
TIMEOUT_S = 60.0
# Caps for archives with no pinned size (only reachable through --archive-url): stop runaway downloads.
MAX_ARCHIVE_BYTES = 1 << 30
MAX_MEMBER_BYTES = 1 << 30
MAX_TEXT_BYTES = 4 << 20
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
USER_AGENT = "bgblur-download-models/1"


@dataclass(frozen=True)
class ArchiveSpec:
    """A tar.gz archive to fetch and the pins it (and the extracted member) must match."""

    url: str
    sha256: str
    size: int | None = None
    sha1: str | None = None
    member: str = MEMBER
    member_sha1: str | None = None


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
    member=MEMBER,
    member_sha1="c8adff66a1e23e607f57cf1a7cfabad0faa371f9",
)

COLORS_TXT = b"0,255,0\n0,0,255\n255,0,0\n0,255,255\n255,255,0\n255,0,255"

# sha256 values from shared/models/MANIFEST.md; the pbtxt's sha1 (31208559adc3c8ae210db9961e89558b6715ffc8)
# also equals the one opencv_extra's download_models.py pins for this URL, so upstream bytes match.
TEXT_FILES: tuple[TextFile, ...] = (
    TextFile(
        name="mask_rcnn_inception_v2_coco_2018_01_28.pbtxt",
        url="https://raw.githubusercontent.com/opencv/opencv_extra/4.x/testdata/dnn/"
        "mask_rcnn_inception_v2_coco_2018_01_28.pbtxt",
        sha256="090923144d81b2e442093f965be27eccda11ce5f781eaf1c7ec76932ce99641e",
    ),
    TextFile(
        name="object_detection_classes_coco.txt",
        url="https://raw.githubusercontent.com/opencv/opencv/4.x/samples/data/dnn/object_detection_classes_coco.txt",
        sha256="cf743111a02d083f91ada4d99ccd3b937cdfc853cf0f5582ee20ca6621b4393f",
    ),
    TextFile(
        name="colors.txt",
        url="",
        sha256="73bf76cc57048e5f6849466c74bd77bacefcfcb569d2ec7dc8250e8532390eb3",
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


def download_archive(spec: ArchiveSpec, dest: Path) -> Path:
    """Download *spec* into a temp file inside *dest*, verify its pins and return the temp path."""
    limit = spec.size if spec.size is not None else MAX_ARCHIVE_BYTES
    fh, tmp = _temp_in(dest, "archive.tar.gz")
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
        if sha256.hexdigest() != spec.sha256:
            raise DownloadError(
                f"sha256 mismatch for {spec.url}: expected {spec.sha256}, got {sha256.hexdigest()}; download removed"
            )
        if spec.sha1 is not None and sha1.hexdigest() != spec.sha1:
            raise DownloadError(
                f"sha1 mismatch for {spec.url}: expected {spec.sha1}, got {sha1.hexdigest()}; download removed"
            )
    except BaseException:
        _remove(tmp)
        raise
    return tmp


def _unsafe_reason(member: tarfile.TarInfo) -> str | None:
    """Why *member* must not be accepted from an archive, or None if it is a plain file or folder."""
    name = member.name
    if not name or "\x00" in name:
        return "empty or invalid name"
    if name.startswith(("/", "\\")) or PurePosixPath(name).is_absolute() or PureWindowsPath(name).drive:
        return "absolute path"
    if ".." in re.split(r"[/\\]+", name):
        return "'..' in path"
    if member.issym() or member.islnk():
        return "symbolic or hard link"
    if member.isdev():
        return "device or fifo"
    if not (member.isreg() or member.isdir()):
        return "unsupported member type"
    return None


def extract_member(archive: Path, member_name: str, dest: Path, member_sha1: str | None) -> tuple[Path, str]:
    """Copy *member_name* out of *archive* into *dest*/frozen_inference_graph.pb atomically.

    Every member is checked first-to-last (absolute paths, ``..``, links, devices refuse the whole
    archive), nothing is extracted with ``extract``/``extractall``, and only the one wanted member is
    copied, to a temp file that is renamed into place only once everything checked out.
    Returns the final path and the sha256 of the extracted file.
    """
    tmp: Path | None = None
    found = False
    sha256, sha1 = hashlib.sha256(), hashlib.sha1()
    try:
        try:
            with tarfile.open(archive, mode="r:gz") as tar:
                for member in tar:
                    reason = _unsafe_reason(member)
                    if reason is not None:
                        raise DownloadError(f"refusing archive: member {member.name!r} is unsafe ({reason})")
                    if posixpath.normpath(member.name) != member_name or member.isdir():
                        continue
                    if found:
                        raise DownloadError(f"refusing archive: member {member_name!r} appears more than once")
                    if member.size > MAX_MEMBER_BYTES:
                        raise DownloadError(f"refusing archive: member {member_name!r} is {member.size} bytes")
                    found = True
                    source = tar.extractfile(member)
                    if source is None:
                        raise DownloadError(f"cannot read member {member_name!r} from the archive")
                    fh, tmp = _temp_in(dest, MODEL_FILENAME)
                    with fh, source:
                        _copy(source, fh, sha256, sha1)
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            raise DownloadError(f"cannot read the archive: {exc}") from exc
        if not found or tmp is None:
            raise DownloadError(f"the archive has no member {member_name!r}")
        if member_sha1 is not None and sha1.hexdigest() != member_sha1:
            raise DownloadError(
                f"sha1 mismatch for {member_name}: expected {member_sha1}, got {sha1.hexdigest()}; nothing written"
            )
        final = dest / MODEL_FILENAME
        _publish(tmp, final)
        tmp = None
        return final, sha256.hexdigest()
    finally:
        _remove(tmp)


def _copy(source: IO[bytes], target: IO[bytes], *digests: Any) -> None:
    while chunk := source.read(CHUNK):
        target.write(chunk)
        for digest in digests:
            digest.update(chunk)


def _already_there(model: Path, spec: ArchiveSpec) -> bool:
    if not model.is_file():
        return False
    if spec.member_sha1 is None:
        _info(f"{model} exists but no pinned hash applies to --archive-url; downloading again")
        return False
    if file_digest(model, "sha1") == spec.member_sha1:
        return True
    _info(f"{model} exists but does not match the pinned hash; downloading again")
    return False


def ensure_model(dest: Path, spec: ArchiveSpec, text_files: Sequence[TextFile], force: bool = False) -> Path:
    """Make *dest* hold the complete model folder and return the path of the frozen graph."""
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

    model = dest / MODEL_FILENAME
    if not force and _already_there(model, spec):
        return model

    _info(f"downloading {spec.url}")
    archive = download_archive(spec, dest)
    try:
        _info(f"verified archive (sha256 {spec.sha256}); extracting {spec.member}")
        final, digest = extract_member(archive, spec.member, dest, spec.member_sha1)
    finally:
        _remove(archive)
    _info(f"{MODEL_FILENAME}: sha256 {digest}")
    return final


def _sha256_arg(value: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise argparse.ArgumentTypeError("expected 64 hexadecimal digits")
    return value.lower()


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Download the Mask R-CNN Inception v2 COCO weights (TF model zoo) into the bgblur model folder.",
    )
    parser.add_argument(
        "--dest",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"model folder (default: {DEFAULT_DEST.relative_to(REPO)} in the repository)",
    )
    parser.add_argument("--force", action="store_true", help="download the weights again even if they are present")
    parser.add_argument(
        "--archive-url",
        metavar="URL",
        help="fetch this tar.gz instead of the TF model-zoo one (mirrors, tests); requires --sha256. "
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
    dest: Path = args.dest if args.dest is not None else DEFAULT_DEST
    try:
        spec = _archive_spec(args)
        model = ensure_model(dest, spec, TEXT_FILES, force=args.force)
    except DownloadError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: error: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # disk full, permission denied, ...
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    print(f"{PROG}: Mask R-CNN weights ready at {model.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
