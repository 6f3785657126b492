"""The file loop: every frame in order, the model and the matte step run ahead in threads of their own."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
from util import MemorySink

from bgblur.effects.visualize import Visualizer, draw_detections
from bgblur.matte import MatteMaker
from bgblur.run import Outputs, Pipeline, run_pipeline
from bgblur.segmenters.base import Segmentation, Segmenter
from bgblur.segmenters.maskrcnn import MaskRCNNSegmenter
from bgblur.sources.files import VideoFileSource


def test_visualize_on_a_video_draws_each_frame_with_its_own_detections(
    testdata: Path, mrcnn_dir: Path, tmp_path: Path
) -> None:
    """A file is segmented a few frames ahead of the drawing: each frame must still get its own detections."""
    clip = tmp_path / "four.mp4"
    names = ["davis_breakdance_flare_f010", "davis_rollerblade_f010", "cihp_two_men_at_computer", "noperson_coffee_cup"]
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for name in names:
        writer.write(cv2.resize(cv2.imread(str(testdata / "images" / f"{name}.jpg")), (320, 240)))
    writer.release()
    capture = cv2.VideoCapture(str(clip))
    frames = [capture.read()[1] for _ in names]
    capture.release()

    model = MaskRCNNSegmenter(mrcnn_dir)
    found = threading.Semaphore(0)
    answers: list[tuple] = []  # the model's detections, frame by frame (it segments in frame order)

    class Counting(Segmenter):
        """The model, telling the drawing when it has finished a frame."""

        name, default_threshold = model.name, model.default_threshold

        def segment(self, image: np.ndarray) -> np.ndarray:
            return self.find(image).probability

        def find(self, image: np.ndarray) -> Segmentation:
            answer = model.find(image)
            answers.append(answer.detections)
            found.release()
            return answer

    class LateDrawing(Visualizer):
        """Draws frame i only once the model has finished frame i + 1 (the race to catch: newer detections
        exist while an older frame is drawn)."""

        drawn = 0

        def __call__(self, frame: np.ndarray, alpha: np.ndarray, detections: tuple = ()) -> np.ndarray:
            wanted = 2 if self.drawn == 0 else 1  # frame 0 waits for frames 0 and 1, then one more each
            for _ in range(wanted if self.drawn + 1 < len(names) else 0):
                assert found.acquire(timeout=60)
            self.drawn += 1
            return super().__call__(frame, alpha, detections)

    sink = MemorySink()
    pipeline = Pipeline(
        Counting(), MatteMaker(0.3), LateDrawing(model.colors, 0.3, detecting=True), Outputs(result=sink)
    )
    with VideoFileSource(clip) as source:
        run_pipeline(pipeline, source, progress=False)
    pipeline.close()

    expected = [draw_detections(f, list(d), model.colors, 0.3) for f, d in zip(frames, answers, strict=True)]
    assert len(sink.images) == len(frames)
    assert len({e.tobytes() for e in expected}) == len(frames)  # the frames' drawings differ: the check can fail
    for picture, wanted in zip(sink.images, expected, strict=True):
        assert np.array_equal(picture, wanted)


def test_a_file_is_decoded_segmented_and_matted_in_three_threads_every_frame_in_order(tmp_path: Path) -> None:
    """Four threads keep both cores busy: decoding, the model, the matte step, and the composite in the caller."""
    from bgblur.effects.blur import BlurBackground

    clip = tmp_path / "twelve.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 120))
    for i in range(12):
        writer.write(np.full((120, 160, 3), 20 * i, np.uint8))  # each frame its own grey: the order shows
    writer.release()
    threads: dict[str, set[int]] = {"read": set(), "segment": set(), "matte": set()}
    seen: list[float] = []

    class Reading(VideoFileSource):
        def read(self):
            threads["read"].add(threading.get_ident())
            return super().read()

    class Grey(Segmenter):
        """Calls everything person, noting the thread and the frame's grey level."""

        name = "grey"
        default_threshold = 0.5

        def segment(self, image: np.ndarray) -> np.ndarray:
            threads["segment"].add(threading.get_ident())
            seen.append(float(image.mean()))
            return np.ones((8, 8), np.float32)

    class Matting(MatteMaker):
        def analyse(self, probability, image=None):
            threads["matte"].add(threading.get_ident())
            return super().analyse(probability, image)

    sink = MemorySink()
    pipeline = Pipeline(Grey(), Matting(0.5, temporal=False), BlurBackground(21), Outputs(result=sink))
    with Reading(clip) as source:
        run_pipeline(pipeline, source, progress=False)
    pipeline.close()
    assert len(sink.images) == 12 and len(seen) == 12
    assert seen == sorted(seen) and seen[-1] - seen[0] > 150  # every frame, in order
    main = threading.get_ident()
    assert len(threads["read"]) == len(threads["segment"]) == len(threads["matte"]) == 1
    used = threads["read"] | threads["segment"] | threads["matte"]
    assert len(used) == 3 and main not in used
