"""The defaults file: values applied as if typed, the command line wins, a bad file is one ``FILE:LINE`` error."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from bgblur.cli import build_parser
from bgblur.config import ConfigError, config_path, load_into, read_defaults
from tests.util import assert_error, bgblur_env, person_regions, run_bgblur, sharpness

PHOTO = "davis_breakdance_flare_f010"  # one person, a clean matte: the room is all room


def bgblur(*args: str | Path, config: Path | None, cwd: Path) -> subprocess.CompletedProcess:
    env = bgblur_env(XDG_CONFIG_HOME=str(cwd / "no-xdg"))
    env.pop("DISPLAY", None)
    if config is not None:
        env["BGBLUR_CONFIG"] = str(config)
    return run_bgblur(*args, timeout=120, env=env, cwd=cwd)


def parse(argv: list[str], config_text: str | None, tmp_path: Path) -> argparse.Namespace:
    parser = build_parser()
    path = tmp_path / "config.toml"
    if config_text is not None:
        path.write_text(config_text)
    args = parser.parse_args(argv)
    if args.no_config:
        return args
    from bgblur.config import apply_defaults

    return apply_defaults(parser, argv, args, read_defaults(parser, path))


# -- where the file is ----------------------------------------------------------------------------------------------


def test_config_path_follows_bgblur_config_then_xdg_then_home(tmp_path: Path) -> None:
    assert config_path({"BGBLUR_CONFIG": str(tmp_path / "a.toml")}) == tmp_path / "a.toml"
    assert config_path({"BGBLUR_CONFIG": ""}) is None  # set but empty: no defaults file
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "bgblur" / "config.toml"
    assert config_path({}) == Path.home() / ".config" / "bgblur" / "config.toml"


# -- values as the parser reads them --------------------------------------------------------------------------------


def test_values_are_applied_as_if_typed(tmp_path: Path) -> None:
    args = parse(
        [],
        'virtual-camera = "/dev/video10"\nbackground = "~/office.jpg"\nblur = "strong"\n'
        'refine = false\nlight_wrap = 0.4\nsize = "1280x720"\nquiet = true\n',
        tmp_path,
    )
    assert args.virtual_camera == "/dev/video10"
    assert args.background == str(Path.home() / "office.jpg")  # ~ expanded, as the shell would
    assert args.blur == "strong" and args.kernel is None
    assert args.refine is False and args.light_wrap == 0.4 and args.size == (1280, 720) and args.quiet is True
    assert args.smooth is True and args.source == "0"  # what the file does not set keeps its default


def test_auto_framing_is_kept_in_the_file(tmp_path: Path) -> None:
    args = parse([], "auto-frame = true\nauto-frame-zoom = 1.5\n", tmp_path)
    assert args.auto_frame is True and args.auto_frame_zoom == 1.5
    assert parse([], "", tmp_path).auto_frame is False


def test_a_switch_set_true_without_a_value_takes_the_options_constant(tmp_path: Path) -> None:
    args = parse([], "virtual-camera = true\nlight-wrap = true\n", tmp_path)
    assert args.virtual_camera == "" and args.light_wrap == 0.3


def test_the_command_line_wins(tmp_path: Path) -> None:
    text = 'blur = "strong"\nmodel = "selfie-landscape"\nrefine = false\nvirtual-camera = "/dev/video10"\n'
    args = parse(["--blur", "light", "--refine", "--virtual-camera", "/dev/video11"], text, tmp_path)
    assert (args.blur, args.refine, args.virtual_camera, args.model) == (
        "light",
        True,
        "/dev/video11",
        "selfie-landscape",
    )
    # An option the command line gives also drops the file's option it excludes.
    args = parse(["--kernel", "61", "--mask-rcnn", "models/mask-rcnn-coco"], text, tmp_path)
    assert (args.kernel, args.blur, args.model, args.mask_rcnn) == (61, None, None, Path("models/mask-rcnn-coco"))
    # Given on the command line with its default value, it still wins.
    args = parse(["--people", "main"], 'people = "all"\n', tmp_path)
    assert args.people == "main"


def test_no_config_ignores_the_file(tmp_path: Path) -> None:
    args = parse(["--no-config"], 'blur = "nonsense"\n', tmp_path)
    assert args.blur is None


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            'blur = "strong"\n\nkernel_size = 41\n',
            3,
            'kernel_size: unknown option (keys are bgblur\'s long options, e.g. blur = "strong")',
        ),
        ('# mine\nblur = "huge"\n', 2, "blur = \"huge\": argument --blur: invalid choice: 'huge'"),
        (
            "kernel = 40\n",
            1,
            "kernel = 40: argument -k/--kernel: 40 is even: a Gaussian kernel needs a centre pixel, try 41",
        ),
        (
            'quiet = true\nno-window = "yes"\n',
            2,
            "no-window = \"yes\": argument --no-window: ignored explicit argument 'yes'",
        ),
        ("kernel = true\n", 1, "kernel = true: argument -k/--kernel: expected one argument"),
        ("auto-frame-zoom = 0.5\n", 1, "auto-frame-zoom = 0.5: argument --auto-frame-zoom: 0.5 is outside 1..8"),
        ("size = [1280, 720]\n", 1, "size: list values are not options: give a string, a number or true/false"),
        ("version = true\n", 1, "version: unknown option"),
        ('sour = "0"\n', 1, "sour: unknown option"),  # no abbreviations
        ('blur = "light"\nblur = "strong"\n', 2, "not valid TOML: Cannot overwrite a value"),
        ('virtual-camera = "/dev/video10"\nvirtual_camera = "/dev/video11"\n', 2, "virtual_camera: set twice"),
        ('quiet = true\n[window]\nblur = "strong"\n', 2, "[window]: tables are not options"),
    ],
)
def test_a_bad_file_is_one_error_naming_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        read_defaults(build_parser(), path)
    assert str(caught.value).startswith(f"{path}:{line}: {message}"), str(caught.value)
    assert caught.value.exit_code == 2


def test_load_into_reads_the_users_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BGBLUR_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "bgblur").mkdir()
    (tmp_path / "bgblur" / "config.toml").write_text('blur = "light"\n')
    parser = build_parser()
    assert load_into(parser, [], parser.parse_args([])).blur == "light"
    assert load_into(parser, ["--no-config"], parser.parse_args(["--no-config"])).blur is None


# -- the bgblur command with a defaults file ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def photo(testdata: Path) -> tuple[Path, np.ndarray]:
    mask = cv2.imread(str(testdata / "masks" / f"{PHOTO}.png"), cv2.IMREAD_GRAYSCALE)
    return testdata / "images" / f"{PHOTO}.jpg", mask


def room_sharpness(path: Path, mask: np.ndarray) -> float:
    _, outside = person_regions(mask)
    return sharpness(cv2.imread(str(path)), outside)


def test_bgblur_uses_the_file_and_the_command_line_wins(tmp_path: Path, photo: tuple[Path, np.ndarray]) -> None:
    image, mask = photo
    config = tmp_path / "config.toml"
    config.write_text(
        f'source = "{image}"\noutput = "from-file.png"\nno_window = true\nquiet = true\nblur = "strong"\n'
    )
    result = bgblur(config=config, cwd=tmp_path)  # plain bgblur: everything from the file
    assert result.returncode == 0, result.stderr
    strong = room_sharpness(tmp_path / "from-file.png", mask)

    result = bgblur("--output", "light.png", "--blur", "light", config=config, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    light = room_sharpness(tmp_path / "light.png", mask)
    result = bgblur("--output", "k.png", "--kernel", "21", config=config, cwd=tmp_path)  # drops the file's blur
    assert result.returncode == 0, result.stderr
    assert light > 1.5 * strong, (light, strong)  # the command line's lighter blur leaves more of the room's detail
    assert abs(room_sharpness(tmp_path / "k.png", mask) - light) < 0.05 * light  # --kernel 21 is --blur light


def test_bgblur_refuses_a_bad_file_in_one_line_and_no_config_runs(
    tmp_path: Path, photo: tuple[Path, np.ndarray]
) -> None:
    image, _ = photo
    config = tmp_path / "config.toml"
    config.write_text('quiet = true\nblur = "huge"\n')
    result = bgblur("--source", image, "--output", "out.png", "--no-window", config=config, cwd=tmp_path)
    line = assert_error(result, 2)
    assert line.startswith(f"bgblur: error: {config}:2: blur = \"huge\": argument --blur: invalid choice: 'huge'")
    assert not (tmp_path / "out.png").exists()
    result = bgblur("--no-config", "--source", image, "--output", "out.png", "--no-window", config=config, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.png").is_file()
