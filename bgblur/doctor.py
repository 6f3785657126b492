"""``bgblur --doctor``: can a plain ``bgblur`` work here, and if not, what to do — before the first call.

One line per check: ``ok``, ``FAIL`` (a plain ``bgblur`` cannot work: no window, no camera, no model) or
``warn`` (an optional piece is missing: Mask R-CNN, the pose model, the virtual camera, ffmpeg), each problem
with its fix. Exit status 0 when a plain ``bgblur`` would work, 1 when not. Every check is bounded in time (a
camera that does not answer is given up after :data:`CAMERA_TIMEOUT` s) and none can raise: a check that breaks
is reported as its own line.

``BGBLUR_DOCTOR_ROOT`` (for tests) is a folder standing for ``/`` where the doctor looks for ``/dev/video*`` and
``/sys``: a simulated v4l2loopback setup.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

OK, FAIL, WARN = "ok", "FAIL", "warn"
CAMERA_TIMEOUT = 2.0  # s to open a camera and read one frame
CAMERAS_TRIED = 4  # indexes probed where devices cannot be listed (Windows, macOS)
MODPROBE = "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=bgblur video_nr=10"


@dataclass
class Check:
    status: str
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.detail}"


def _root() -> Path:
    return Path(os.environ.get("BGBLUR_DOCTOR_ROOT") or "/")


def _shown(path: Path) -> str:
    """``path`` with the home folder as ``~``."""
    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home) :] if home != "/" and text.startswith(home + os.sep) else text


# -- the checks: each returns one or more Check ---------------------------------------------------------------------


def check_opencv() -> list[Check]:
    import cv2

    gui = "NONE"
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            gui = line.split(":", 1)[1].strip()
    if gui.upper() in ("NONE", "NO", ""):
        fix = "pip uninstall opencv-python-headless && pip install --force-reinstall opencv-python"
        return [Check(FAIL, "OpenCV", f"{cv2.__version__} has no window support (a headless build?): {fix}")]
    return [Check(OK, "OpenCV", f"{cv2.__version__}, window backend {gui}")]


def check_display() -> list[Check]:
    from bgblur.sinks.window import display_available

    if display_available():
        shown = os.environ.get("DISPLAY") or "the desktop"
        return [Check(OK, "display", f"{shown} answers")]
    why = "DISPLAY is unset" if not os.environ.get("DISPLAY") else f"DISPLAY={os.environ['DISPLAY']} does not answer"
    return [
        Check(
            FAIL,
            "display",
            f"none ({why}): run bgblur in a desktop session (or ssh -X), or use --no-window with --output or "
            "--virtual-camera",
        )
    ]


def loopback_devices() -> dict[str, str]:
    """v4l2loopback devices, ``/dev/videoN`` → card name (Linux)."""
    devices = {}
    for folder in sorted(glob.glob(str(_root() / "sys/devices/virtual/video4linux/video*"))):
        name = Path(folder, "name")
        devices[f"/dev/{Path(folder).name}"] = name.read_text().strip() if name.is_file() else "?"
    return devices


def _probe(target: int, timeout: float) -> str | None:
    """``WxH at R fps`` for a camera that opens and gives a frame within ``timeout`` s, else None."""
    import cv2

    answer: list[str] = []

    def probe() -> None:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(timeout * 1000), cv2.CAP_PROP_READ_TIMEOUT_MSEC, 1000]
        capture = cv2.VideoCapture(target, cv2.CAP_ANY, params)
        try:
            ok, frame = capture.read() if capture.isOpened() else (False, None)
            if ok and frame is not None:
                rate = capture.get(cv2.CAP_PROP_FPS) or 0.0
                answer.append(f"{frame.shape[1]}x{frame.shape[0]} at {rate:g} fps")
        finally:
            capture.release()

    thread = threading.Thread(target=probe, daemon=True)  # a camera that hangs is left behind, not waited for
    thread.start()
    thread.join(timeout + 0.5)
    return answer[0] if answer else None


def check_cameras() -> list[Check]:
    fix = "plug in a webcam (and close other apps using it), or give --source FILE|URL"
    if sys.platform.startswith("linux"):
        loopback = loopback_devices()
        nodes = sorted(Path(node).name for node in glob.glob(str(_root() / "dev/video*")))
        indexes = [int(name[5:]) for name in nodes if name[5:].isdigit() and f"/dev/{name}" not in loopback]
        if not indexes:
            extra = f" (only the virtual camera {', '.join(loopback)})" if loopback else ""
            return [Check(FAIL, "camera", f"none found: no /dev/video* device{extra}: {fix}")]
        targets = [(f"/dev/video{index}", index) for index in sorted(indexes)]
    else:
        targets = [(f"index {index}", index) for index in range(CAMERAS_TRIED)]
    found, silent = [], []
    for shown, index in targets:
        answer = _probe(index, CAMERA_TIMEOUT)
        if answer:
            found.append(Check(OK, "camera", f"{shown} (--source {index}): {answer}"))
        else:
            silent.append(shown)
    if found:
        if sys.platform.startswith("linux") and silent:
            # One webcam often has two nodes, the second for metadata: only worth a note.
            found.append(Check(OK, "camera", f"no picture from {', '.join(silent)} (metadata nodes or in use)"))
        return found
    return [Check(FAIL, "camera", f"none gives a picture ({', '.join(silent)}): {fix}")]


def check_bundled_models() -> list[Check]:
    from bgblur.matte.detectors import FaceDetector
    from bgblur.models import BUILTIN_MODELS, DEFAULT_MODEL, FACE_MODEL
    from bgblur.segmenters import create_segmenter

    loaders: list[tuple[str, Path, Callable[[], object]]] = [
        (name, path, lambda name=name: create_segmenter(name)) for name, path in BUILTIN_MODELS.items()
    ]
    loaders.append(("face", FACE_MODEL, lambda: FaceDetector(FACE_MODEL)))
    checks = []
    for name, path, load in loaders:
        try:
            load()
        except Exception as exc:  # any failure (BgblurError or OpenCV's) is this check's answer
            status = FAIL if name == DEFAULT_MODEL else WARN
            fix = "reinstall bgblur: pip install --force-reinstall bgblur (or pip install . in the checkout)"
            checks.append(Check(status, f"model {name}", f"does not load ({exc}): {fix}"))
        else:
            checks.append(Check(OK, f"model {name}", f"loads ({path.name}, bundled)"))
    return checks


def check_mask_rcnn() -> list[Check]:
    from bgblur.models import MASK_RCNN_DIR, MASK_RCNN_PINS, matches_pin
    from bgblur.segmenters.dnn import tensorflow_unsupported

    if unsupported := tensorflow_unsupported():  # the files would be no use: say why first
        return [Check(WARN, "Mask R-CNN", f"cannot run here: {unsupported}")]
    fix = "run: bgblur --download mask-rcnn (only needed for --mask-rcnn)"
    folder = _shown(MASK_RCNN_DIR)
    pins = MASK_RCNN_PINS.items()  # the text files, then the weights
    missing = [name for name, _ in pins if not (MASK_RCNN_DIR / name).is_file()]
    if missing:
        return [Check(WARN, "Mask R-CNN", f"{', '.join(missing)} missing in {folder}: {fix}")]
    for name, pin in pins:
        if not matches_pin(MASK_RCNN_DIR / name, pin):
            algorithm = pin.partition(":")[0]
            return [Check(WARN, "Mask R-CNN", f"{folder}/{name} is damaged or incomplete ({algorithm} differs): {fix}")]
    return [Check(OK, "Mask R-CNN", f"{folder} complete, hashes as pinned")]


def check_pose_model() -> list[Check]:
    from bgblur.models import POSE_MODEL, POSE_PINS, matches_pin

    fix = "run: bgblur --download pose (only needed for --presence face-or-pose)"
    shown = _shown(POSE_MODEL)
    if not POSE_MODEL.is_file():
        return [Check(WARN, "pose model", f"{shown} missing: {fix}")]
    if not matches_pin(POSE_MODEL, POSE_PINS[POSE_MODEL.name]):
        return [Check(WARN, "pose model", f"{shown} is damaged or incomplete (sha256 differs): {fix}")]
    return [Check(OK, "pose model", f"{shown}, sha256 as pinned")]


def inference_runtime() -> str:
    """The runtime the bundled models run on here (the default model loaded the way a plain bgblur loads it)."""
    import cv2

    from bgblur.segmenters import create_segmenter

    runtime = create_segmenter().runtime
    if runtime == "litert":
        from importlib.metadata import version

        return f"LiteRT {version('ai-edge-litert')} (XNNPACK), OpenCV dnn {cv2.__version__} for the rest"
    return f"OpenCV dnn {cv2.__version__}"


def check_runtime() -> list[Check]:
    from bgblur.segmenters.runtimes import INSTALL_HINT, runtime_available

    found = inference_runtime()
    if runtime_available("litert"):
        return [Check(OK, "inference", found)]
    # Not a failure: everything runs on cv2.dnn, only slower, and the person/full-range face detectors are missing.
    return [
        Check(WARN, "inference", f"{found}; LiteRT is not installed (about 2x slower here): {INSTALL_HINT['litert']}")
    ]


def check_virtual_camera() -> list[Check]:
    try:
        import pyvirtualcam
    except ImportError:
        fix = "pip install 'bgblur[vcam]' (or pip install pyvirtualcam), only needed for --virtual-camera"
        checks = [Check(WARN, "virtual camera", f"pyvirtualcam is not installed: {fix}")]
    else:
        version = getattr(pyvirtualcam, "__version__", "")
        checks = [Check(OK, "virtual camera", f"pyvirtualcam {version}".strip())]
    if not sys.platform.startswith("linux"):
        checks.append(
            Check(
                WARN,
                "virtual camera",
                "needs OBS Studio's Virtual Camera: install OBS (obsproject.com), start "
                "its virtual camera once, then use --virtual-camera",
            )
        )
        return checks
    module = _root() / "sys/module/v4l2loopback"
    if not module.is_dir():
        checks.append(Check(WARN, "v4l2loopback", f"module not loaded: {MODPROBE} (apt install v4l2loopback-dkms)"))
        return checks
    devices = loopback_devices()
    if not devices:
        checks.append(Check(WARN, "v4l2loopback", f"loaded but no device: sudo modprobe -r v4l2loopback && {MODPROBE}"))
        return checks
    flags_file = module / "parameters/exclusive_caps"
    flags = flags_file.read_text().strip().split(",") if flags_file.is_file() else []

    def exclusive(index: int) -> bool:
        return index < len(flags) and flags[index].strip().upper() in ("Y", "1")

    for index, (device, name) in enumerate(devices.items()):
        if exclusive(index):
            checks.append(Check(OK, "v4l2loopback", f"{device} ({name}), exclusive_caps on: --virtual-camera {device}"))
        else:
            checks.append(
                Check(
                    WARN,
                    "v4l2loopback",
                    f"{device} ({name}) has exclusive_caps off: Chrome, Zoom and Teams will not list it: "
                    f"sudo modprobe -r v4l2loopback && {MODPROBE}",
                )
            )
    return checks


def check_ffmpeg() -> list[Check]:
    path = shutil.which("ffmpeg")
    if path is None:
        fix = "install ffmpeg (Debian: apt install ffmpeg; macOS: brew install ffmpeg; Windows: winget install ffmpeg)"
        return [Check(WARN, "ffmpeg", f"not on PATH: videos written from files lose their sound: {fix}")]
    return [Check(OK, "ffmpeg", f"{path} (keeps the sound of videos)")]


def check_defaults_file(parser: argparse.ArgumentParser, use: bool = True) -> list[Check]:
    from bgblur.config import ConfigError, config_path, read_defaults

    if not use:
        return [Check(OK, "defaults file", "ignored (--no-config)")]
    path = config_path()
    if path is None:
        return [Check(OK, "defaults file", "none (BGBLUR_CONFIG is empty)")]
    if not path.exists():
        return [Check(OK, "defaults file", f"none ({_shown(path)} does not exist; see README to keep your options)")]
    try:
        defaults = read_defaults(parser, path)
    except ConfigError as exc:
        return [Check(FAIL, "defaults file", f"{exc}: fix or remove that line (or run with --no-config)")]
    keys = ", ".join(defaults.keys) or "no options"
    return [Check(OK, "defaults file", f"read {_shown(path)}: {keys}")]


# In the order printed; a plain ``bgblur`` needs the OpenCV window, the display, a camera and the default model
# (FAIL); the rest are optional (warn). The defaults file is checked last, with the command line's parser.
CHECKS: tuple[Callable[[], list[Check]], ...] = (
    check_opencv,
    check_display,
    check_cameras,
    check_bundled_models,
    check_mask_rcnn,
    check_pose_model,
    check_runtime,
    check_virtual_camera,
    check_ffmpeg,
)


def run_checks(parser: argparse.ArgumentParser, *, use_config: bool = True, out=None) -> int:
    """Print every check, one line each, then the verdict; return 0 when a plain ``bgblur`` would work, else 1.
    ``parser``: the command line's, which reads the defaults file (``use_config`` False: ``--no-config``)."""
    out = out or sys.stdout
    checks: list[Check] = []

    def check_defaults() -> list[Check]:
        return check_defaults_file(parser, use_config)

    for check in (*CHECKS, check_defaults):
        try:
            found = check()
        except Exception as exc:  # a broken check is one line, never a traceback
            name = getattr(check, "__name__", "check").removeprefix("check_").replace("_", " ")
            found = [Check(WARN, name, f"could not be checked: {type(exc).__name__}: {exc}")]
        for item in found:
            print(item.line(), file=out, flush=True)
        checks.extend(found)
    failed = sorted({check.name for check in checks if check.status == FAIL}, key=[c.name for c in checks].index)
    if failed:
        print(
            f"bgblur --doctor: a plain bgblur will not work here: fix {', '.join(failed)} (lines marked FAIL)", file=out
        )
        return 1
    warned = sum(check.status == WARN for check in checks)
    extra = f"; {warned} optional piece{'s' if warned != 1 else ''} missing (lines marked warn)" if warned else ""
    print(f"bgblur --doctor: a plain bgblur should work here{extra}", file=out)
    return 0
