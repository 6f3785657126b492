"""--visualize drawing, the matte view, the FPS meter, and the hotkeys that drive them (Controls)."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
from util import MemorySink, run_bgblur

from bgblur.pipeline import Controls
from bgblur.segmenters.maskrcnn import Detection, MaskRCNNSegmenter
from bgblur.views import MASK_OPACITY, FpsMeter, draw_detections, draw_matte_overlay, side_by_side

RED, CYAN = (0, 0, 255), (255, 255, 0)


def _image(testdata: Path) -> np.ndarray:
    return cv2.imread(str(testdata / "images" / "davis_breakdance_flare_f010.jpg"))  # 854x480


def test_crafted_detections_are_drawn_where_they_say(testdata: Path) -> None:
    image = _image(testdata)
    full, empty = np.ones((15, 15), np.float32), np.zeros((15, 15), np.float32)
    person = Detection(0, "person", 0.91, (100, 60, 300, 400), full)
    car = Detection(2, "car", 0.66, (500, 100, 700, 250), empty)
    off_edge = Detection(1, "bicycle", 0.7, (780, 300, 900, 520), full)  # runs past the right and bottom edges
    colours = [RED, (0, 255, 0), CYAN]
    out = draw_detections(image, [person, car, off_edge], colours)

    assert out.shape == image.shape and not np.shares_memory(out, image)
    for (x0, y0, x1, y1), colour in (((100, 60, 300, 400), RED), ((500, 100, 700, 250), CYAN)):
        for x, y in ((x0, (y0 + y1) // 2), (x1 - 1, (y0 + y1) // 2), ((x0 + x1) // 2, y0), ((x0 + x1) // 2, y1 - 1)):
            assert tuple(out[y, x]) == colour, (x, y)
    # The clipped box is drawn on the frame's edge.
    assert tuple(out[400, 853]) == (0, 255, 0) and tuple(out[479, 820]) == (0, 255, 0)
    # Inside the person's box (clear of border and label): tinted by its colour at MASK_OPACITY.
    inner = (slice(80, 380), slice(120, 280))
    expected = image[inner] * (1 - MASK_OPACITY) + np.array(RED) * MASK_OPACITY
    assert np.abs(out[inner].astype(float) - expected).max() <= 1.0
    # The car's mask is empty: inside its box nothing changes; nor anywhere away from all detections.
    assert np.array_equal(out[120:240, 510:690], image[120:240, 510:690])
    assert np.array_equal(out[420:480, 320:480], image[420:480, 320:480])
    # Labels: text in the box colour just above each box.
    assert (out[30:58, 100:300] == RED).all(axis=2).sum() > 30
    assert (out[70:98, 500:700] == CYAN).all(axis=2).sum() > 30


def test_visualize_with_mask_rcnn_draws_every_detection(testdata: Path, mrcnn_dir: Path, tmp_path: Path) -> None:
    source = testdata / "images" / "davis_breakdance_flare_f010.jpg"
    output = tmp_path / "drawn.png"
    result = run_bgblur("--source", source, "--mask-rcnn", mrcnn_dir, "--visualize", "--output", output, "--no-window")
    assert result.returncode == 0, result.stderr
    # The same model in-process (the stand-in weights are deterministic) says what should be drawn.
    segmenter = MaskRCNNSegmenter(mrcnn_dir)
    image = cv2.imread(str(source))
    detections = segmenter.detect(image)
    assert len(detections) > 1  # every instance is drawn, not only "the user"
    expected = draw_detections(image, detections, segmenter.colors, mask_threshold=segmenter.default_threshold)
    assert np.array_equal(cv2.imread(str(output)), expected)
    assert not np.array_equal(expected, image)


def test_selfie_visualize_is_a_matte_overlay(testdata: Path, tmp_path: Path) -> None:
    source = testdata / "images" / "davis_breakdance_flare_f010.jpg"
    output, matte = tmp_path / "drawn.png", tmp_path / "matte.png"
    result = run_bgblur("--source", source, "--visualize", "--output", output, "--matte", matte, "--no-window")
    assert result.returncode == 0, result.stderr
    image, out = cv2.imread(str(source)), cv2.imread(str(output))
    alpha = cv2.imread(str(matte), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(out[alpha == 0], image[alpha == 0])  # background: unblurred, untouched
    person = alpha == 255
    assert person.sum() > 1000
    expected = draw_matte_overlay(image, np.ones(alpha.shape, np.float32))
    assert np.abs(out[person].astype(int) - expected[person]).max() <= 1


def test_side_by_side_puts_the_matte_right_of_the_output() -> None:
    result = np.full((40, 60, 3), 7, np.uint8)
    alpha = np.zeros((40, 60), np.float32)
    alpha[:, :20] = 1.0
    view = side_by_side(result, alpha)
    assert view.shape == (40, 120, 3)
    assert (view[:, :60] == 7).all() and (view[:, 60:80] == 255).all() and (view[:, 80:] == 0).all()
    mirrored = side_by_side(result, alpha, mirror=True)
    assert (mirrored[:, 100:] == 255).all() and (mirrored[:, 60:100] == 0).all()


def test_fps_meter_counts_the_recent_window_only() -> None:
    meter = FpsMeter(window=1.0)
    for i in range(30):  # 10 fps for 3 s...
        meter.tick(i * 0.1)
    assert abs(meter.fps - 10.0) < 0.01
    for i in range(1, 31):  # ...then 30 fps for 1 s: the old rate must not linger
        meter.tick(2.9 + i / 30)
    assert abs(meter.fps - 30.0) < 1.0


def test_controls_keys() -> None:
    controls = Controls(choices=3, kernel=41)
    controls.handle_key(ord("d"))
    assert controls.choice == 1
    controls.handle_key(ord("d"))
    controls.handle_key(ord("b"))  # replace → blur
    assert controls.choice == 0
    controls.handle_key(ord("b"))  # blur → the background last used
    assert controls.choice == 2
    controls.handle_key(ord("d"))  # wraps round to blur
    assert controls.choice == 0
    controls.handle_key(ord("a"))
    assert controls.choice == 2
    controls.handle_key(ord("]"))
    assert controls.kernel == 51
    for _ in range(10):
        controls.handle_key(ord("["))
    assert controls.kernel == 1  # floor, still odd
    controls.kernel = 495
    controls.handle_key(ord("]"))
    assert controls.kernel == 501 and controls.kernel % 2 == 1
    for key, flag in ((ord("v"), "show_mask"), (ord("f"), "show_fps")):
        controls.handle_key(key)
        assert getattr(controls, flag)
        controls.handle_key(key)
        assert not getattr(controls, flag)
    alone = Controls()  # nothing to cycle through: b, a, d do nothing
    for key in (ord("a"), ord("d"), ord("b")):
        alone.handle_key(key)
    assert alone.choice == 0


def test_visualize_on_a_video_draws_each_frame_with_its_own_detections(
    testdata: Path, mrcnn_dir: Path, tmp_path: Path
) -> None:
    """A file is segmented a few frames ahead of the drawing: each frame must still get its own detections."""
    from bgblur.matte import MatteMaker
    from bgblur.pipeline import Pipeline
    from bgblur.sources import VideoFileSource
    from bgblur.views import DetectionRecorder, Visualizer

    clip = tmp_path / "four.mp4"
    names = ["davis_breakdance_flare_f010", "davis_rollerblade_f010", "cihp_two_men_at_computer", "noperson_coffee_cup"]
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for name in names:
        writer.write(cv2.resize(cv2.imread(str(testdata / "images" / f"{name}.jpg")), (320, 240)))
    writer.release()
    capture = cv2.VideoCapture(str(clip))
    frames = [capture.read()[1] for _ in names]
    capture.release()

    class SlowMatte(MatteMaker):
        """Gives the model thread time to finish the next frame before this one is drawn (the race to catch)."""

        def __call__(self, probability: np.ndarray, image: np.ndarray | None = None) -> np.ndarray:
            time.sleep(1.5)
            return super().__call__(probability, image)

    recorder = DetectionRecorder(MaskRCNNSegmenter(mrcnn_dir))
    sink = MemorySink()
    source = VideoFileSource(clip)
    Pipeline(source, recorder, SlowMatte(0.3), Visualizer(recorder, 0.3), output=sink, progress=False).run()
    source.close()

    reference = MaskRCNNSegmenter(mrcnn_dir)
    expected = [draw_detections(f, reference.detect(f), reference.colors, mask_threshold=0.3) for f in frames]
    assert len(sink.images) == len(frames)
    assert len({e.tobytes() for e in expected}) == len(frames)  # the frames' drawings differ: the check can fail
    for picture, wanted in zip(sink.images, expected, strict=True):
        assert np.array_equal(picture, wanted)
