"""Replaced backgrounds: colour parsing, the cover crop, video and folder providers, light wrap (command-line runs:
e2e/test_backgrounds_cli.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from util import read_video

from bgblur.effects.backgrounds import ColourBackground, VideoBackground, background_choices, cover_crop, parse_colour
from bgblur.effects.blur import BlurBackground
from bgblur.effects.replace import ReplaceBackground, apply_light_wrap
from bgblur.effects.switch import EffectSwitch
from bgblur.frames import Controls
from bgblur.sinks.window import apply_key

IMAGE = "cihp_two_women_graduation"  # portrait 500x752 under a landscape background: the crop matters
BACKGROUND = "backgrounds/indoor_cafe_hall.jpg"


def test_cover_crop_keeps_aspect_and_centre() -> None:
    wide = np.zeros((100, 300, 3), np.uint8)
    wide[:, :, 0] = np.arange(300, dtype=np.uint8)[None, :] // 2  # a horizontal ramp, to see where the crop is
    out = cover_crop(wide, (100, 100))
    assert out.shape == (100, 100, 3)
    assert np.array_equal(out, wide[:, 100:200])  # same scale, centre third
    tall = cover_crop(wide, (600, 600))  # enlarged 6x, centre 600 of 1800 columns
    assert tall.shape == (600, 600, 3)
    assert abs(int(tall[300, 0, 0]) - 50) <= 1 and abs(int(tall[300, 599, 0]) - 100) <= 1


def test_parse_colour() -> None:
    assert parse_colour("green") == (0, 255, 0)
    assert parse_colour("#FF8000") == (0, 128, 255)
    assert parse_colour("255, 128, 0") == (0, 128, 255)
    assert parse_colour("256,0,0") is None and parse_colour("greenish") is None


def test_video_background_loops_at_the_source_rate(testdata: Path) -> None:
    clip = testdata / "videos" / "davis_hike.mp4"  # 24 fps, 80 frames
    frames = read_video(clip)
    size = (320, 240)
    background = VideoBackground(clip, source_fps=48.0)  # twice as fast a source: each frame shown twice
    try:
        got = [background.frame_for(size) for _ in range(2 * len(frames) + 4)]
    finally:
        background.close()
    for i in (0, 1, 2, 3, 101, 159):
        assert np.array_equal(got[i], cover_crop(frames[i // 2], size)), i
    assert np.array_equal(got[160], cover_crop(frames[0], size))  # looped back to the start
    assert np.array_equal(got[163], cover_crop(frames[1], size))


def test_folder_cycles_with_keys(tmp_path: Path) -> None:
    folder = tmp_path / "backgrounds"
    folder.mkdir()
    for name, bgr in (("1-red.png", (0, 0, 255)), ("2-white.png", (255, 255, 255))):
        cv2.imwrite(str(folder / name), np.full((30, 40, 3), bgr, np.uint8))
    controls = Controls()
    switch = EffectSwitch(controls, BlurBackground(41), [ReplaceBackground(b) for b in background_choices(str(folder))])
    frame, nobody = np.full((48, 64, 3), 90, np.uint8), np.zeros((48, 64), np.uint8)
    seen = []
    for _ in range(4):  # blur → red → white → green (the colour always comes last) → back to blur
        apply_key(controls, ord("d"))
        seen.append(tuple(switch(frame, nobody)[24, 32]))
    assert seen == [(0, 0, 255), (255, 255, 255), (0, 255, 0), (90, 90, 90)]


def test_light_wrap_touches_only_the_edge() -> None:
    frame = np.full((200, 200, 3), 100, np.uint8)
    background = ColourBackground((255, 255, 255)).frame_for((200, 200))
    alpha = np.zeros((200, 200), np.uint8)
    alpha[:, :100] = 255  # the person is the left half
    wrapped = apply_light_wrap(frame, background, alpha, strength=0.3)
    assert np.array_equal(wrapped[:, :40], frame[:, :40])  # deep inside: untouched
    assert (wrapped[:, 97:100] > 130).all()  # at the edge: lit by the white background (~0.3 of the way)
    assert (wrapped[:, 97:100] <= 100 + 0.3 * 155 + 2).all()
