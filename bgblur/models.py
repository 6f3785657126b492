"""Where model files live — bundled in the package, or fetched by ``bgblur --download`` into the user's data
folder — how a file is checked before anything reads it, and the hints that tell a user how to get one."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import platformdirs

from bgblur.errors import BgblurError

PACKAGE = Path(__file__).resolve().parent
# Bundled with the package (Apache-2.0, licence beside them): no download needed.
DATA_DIR = PACKAGE / "data"
BUILTIN_MODELS = {
    "selfie": DATA_DIR / "selfie_segmentation.tflite",
    "selfie-landscape": DATA_DIR / "selfie_segmentation_landscape.tflite",
}
DEFAULT_MODEL = "selfie"
FACE_MODEL = DATA_DIR / "face_detection_short_range.tflite"
# These two run on LiteRT only (cv2.dnn cannot read their DENSIFY operator): see bgblur.matte.detectors.
FULL_RANGE_FACE_MODEL = DATA_DIR / "face_detection_full_range_sparse.tflite"
PERSON_DETECTOR_MODEL = DATA_DIR / "pose_detection.tflite"
# Face landmarks, used for their face-presence score only (verifying a detected face): LiteRT too.
FACE_LANDMARK_MODEL = DATA_DIR / "face_landmark.tflite"

# Fetched by ``bgblur --download`` into the user's data folder (~/.local/share/bgblur on Linux, the platform's own
# place elsewhere), or into $BGBLUR_MODELS (a checkout's models/ folder, for instance): never the working folder
# or the package's folder, so a wheel user and a clone find them from anywhere.
MODELS_DIR = Path(os.environ.get("BGBLUR_MODELS") or platformdirs.user_data_dir("bgblur", appauthor=False))
MASK_RCNN_DIR = MODELS_DIR / "mask-rcnn-coco"
POSE_MODEL = MODELS_DIR / "mediapipe-pose" / "pose_landmark_full.tflite"
# The Mask R-CNN folder's small text files (text graph, labels, colours) ship with the package: the download
# puts them beside the weights, so the folder is whole without a second server (see bgblur/download.py).
MASK_RCNN_TEXT_DIR = DATA_DIR / "mask-rcnn-coco"

# The pins of the downloaded files, in one place: ``bgblur --download`` checks what it fetches against them and
# ``bgblur --doctor`` checks what is on disk. Where each value comes from is said in bgblur/download.py.
MASK_RCNN_WEIGHTS = "frozen_inference_graph.pb"
# No published sha256 of the extracted .pb exists: OpenCV's opencv_extra pins its sha1.
MASK_RCNN_WEIGHTS_SHA1 = "c8adff66a1e23e607f57cf1a7cfabad0faa371f9"
MASK_RCNN_TEXT_SHA256 = {
    "mask_rcnn_inception_v2_coco_2018_01_28.pbtxt": "090923144d81b2e442093f965be27eccda11ce5f781eaf1c7ec76932ce99641e",
    "object_detection_classes_coco.txt": "cf743111a02d083f91ada4d99ccd3b937cdfc853cf0f5582ee20ca6621b4393f",
    "colors.txt": "73bf76cc57048e5f6849466c74bd77bacefcfcb569d2ec7dc8250e8532390eb3",
}
POSE_MODEL_SHA256 = "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"
POSE_LICENSE_SHA256 = "8707eef0533987efc5b155d64761eeb6e20793f50b9bd1a68dad1cf4719d0ed8"
# The same pins as "ALGORITHM:HEX" (pooch's known_hash form), by file name in the model's folder.
MASK_RCNN_PINS = {
    **{name: f"sha256:{digest}" for name, digest in MASK_RCNN_TEXT_SHA256.items()},
    MASK_RCNN_WEIGHTS: f"sha1:{MASK_RCNN_WEIGHTS_SHA1}",
}
POSE_PINS = {POSE_MODEL.name: f"sha256:{POSE_MODEL_SHA256}", "LICENSE": f"sha256:{POSE_LICENSE_SHA256}"}

MASK_RCNN_HINT = " (run: bgblur --download mask-rcnn)"
POSE_HINT = " (get it with: bgblur --download pose, or give --pose-model FILE)"
MODEL_SUFFIXES = {".tflite": "TFLite", ".onnx": "ONNX", ".pb": "TensorFlow"}


def file_hash(path: Path, algorithm: str) -> str:
    """The hex digest of the file at ``path`` with hashlib's ``algorithm``, read in 1 MB chunks."""
    digest = hashlib.new(algorithm)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def matches_pin(path: Path, pin: str) -> bool:
    """True when ``path`` is a file whose digest is ``pin`` ("sha256:HEX" or "sha1:HEX")."""
    algorithm, _, expected = pin.partition(":")
    return path.is_file() and file_hash(path, algorithm) == expected.lower()


def check_model_file(model: Path, hint: str = "") -> None:
    """Refuse a model path of an unknown format, missing, a folder or empty, before anything reads it."""
    suffix = model.suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        extra = " (give the model file itself; its .json card is found beside it)" if suffix == ".json" else ""
        raise BgblurError(f"{model}: unsupported model format {model.suffix!r}: use .onnx, .tflite or .pb{extra}")
    if not model.exists():
        raise BgblurError(f"model file not found: {model}{hint}")
    if not model.is_file():
        raise BgblurError(f"model {model} is a folder, not a model file{hint}")
    if model.stat().st_size == 0:
        raise BgblurError(f"model file {model} is empty (an interrupted download or copy?){hint}")
