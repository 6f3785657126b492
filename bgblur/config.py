"""The defaults file: options a user runs every day, kept in TOML under their command-line names.

    # ~/.config/bgblur/config.toml  (or $XDG_CONFIG_HOME/bgblur/config.toml, or the file $BGBLUR_CONFIG names)
    virtual-camera = "/dev/video10"
    background = "~/office.jpg"
    blur = "strong"
    refine = false          # a switch: true gives --refine, false --no-refine (or leaves a plain flag off)

Each key is a long option without its dashes (``virtual_camera`` is accepted too). Every value is turned back
into command-line words and parsed by the real parser, so it is checked exactly as on the command line; the
command line wins over the file, option by option (and an option the command line gives also drops the file's
option it excludes, e.g. ``--kernel`` on the command line drops the file's ``blur``). An unknown key or a bad
value is one error naming the file and line (exit 2). ``--no-config`` ignores the file; ``BGBLUR_CONFIG=``
(empty) does too.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bgblur.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

# Options that make no sense as a kept default: they print and exit, or pick the file itself.
NOT_IN_FILE = frozenset({"help", "version", "doctor", "download", "no-config"})
# Options that exclude each other: one given on the command line drops the other from the file.
EXCLUSIVE = (("kernel", "blur"), ("model", "mask-rcnn"))
_UNSET = object()


class ConfigError(UsageError):
    """A defaults file that cannot be used: ``FILE:LINE: what is wrong`` (exit 2, like a bad command line)."""


def config_path(environ: dict[str, str] | None = None) -> Path | None:
    """The defaults file to read: ``$BGBLUR_CONFIG`` (empty: none), else ``$XDG_CONFIG_HOME/bgblur/config.toml``
    (``~/.config`` when unset). The file need not exist."""
    env = os.environ if environ is None else environ
    if "BGBLUR_CONFIG" in env:
        value = env["BGBLUR_CONFIG"]
        return Path(value).expanduser() if value else None
    base = env.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "bgblur" / "config.toml"


@dataclass
class Defaults:
    """What the defaults file says: ``path`` (None: no file read), and the options it sets as parsed values."""

    path: Path | None = None
    values: dict[str, object] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)  # option names, as in the file


def _line_of(text: str, key: str) -> int:
    """The line where ``key`` is set (TOML gives no positions for values)."""
    pattern = re.compile(rf"""^\s*(\[\s*)?["']?{re.escape(key)}["']?\s*[=\].]""")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return 1


def _long_options(parser: argparse.ArgumentParser) -> set[str]:
    """Every long option the parser knows, exactly (no abbreviations), from its help: the lines that list an
    option start with two spaces and a dash (help text runs on further indented lines)."""
    invocations = re.findall(r"^  (-\S.*?)(?:  |$)", parser.format_help(), re.MULTILINE)
    return {name for line in invocations for name in re.findall(r"--([a-z][a-z0-9-]*)", line)}


def _explicit(parser: argparse.ArgumentParser, words: list[str], dests: list[str]) -> dict[str, object]:
    """The options ``words`` set, parsed by ``parser`` (its defaults left out)."""
    namespace = argparse.Namespace(**dict.fromkeys(dests, _UNSET))
    parser.parse_args(words, namespace)
    return {dest: value for dest, value in vars(namespace).items() if value is not _UNSET}


def _words(option: str, value: object, known: set[str]) -> list[str] | str:
    """Command-line words for one key of the file, or what is wrong with its value."""
    if isinstance(value, bool):
        if value:
            return [f"--{option}"]
        return [f"--no-{option}"] if f"no-{option}" in known else []
    if isinstance(value, str):
        return [f"--{option}={os.path.expanduser(value) if value.startswith('~') else value}"]
    if isinstance(value, (int, float)):
        return [f"--{option}={value}"]
    return f"{type(value).__name__} values are not options: give a string, a number or true/false"


def read_defaults(parser: argparse.ArgumentParser, path: Path | None) -> Defaults:
    """Read and check the defaults file at ``path`` (missing: nothing set). Raises :class:`ConfigError`."""
    if path is None or not path.exists():
        return Defaults()
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(f"{path}:{found.group(1) if found else 1}: not valid TOML: {message}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the defaults file: {exc}") from None
    known = _long_options(parser) - NOT_IN_FILE
    dests = list(vars(parser.parse_args([])))
    defaults = Defaults(path)
    for key, value in data.items():
        where = f"{path}:{_line_of(text, key)}"
        if isinstance(value, dict):
            raise ConfigError(f"{where}: [{key}]: tables are not options: put options at the top of the file")
        option = key.replace("_", "-")
        if option not in known or option in defaults.keys:
            problem = "set twice" if option in defaults.keys else "unknown option"
            raise ConfigError(f'{where}: {key}: {problem} (keys are bgblur\'s long options, e.g. blur = "strong")')
        words = _words(option, value, known)
        if isinstance(words, str):
            raise ConfigError(f"{where}: {key}: {words}")
        stderr = io.StringIO()
        try:
            with contextlib.redirect_stderr(stderr):
                defaults.values.update(_explicit(parser, words, dests))
        except SystemExit:
            reason = stderr.getvalue().strip().splitlines()[-1:] or ["not accepted"]
            reason = re.sub(r"^bgblur: error: |\s*\(see bgblur --help\)$", "", reason[0])
            shown = str(value).lower() if isinstance(value, bool) else json.dumps(value)
            raise ConfigError(f"{where}: {key} = {shown}: {reason}") from None
        defaults.keys.append(option)
    return defaults


def apply_defaults(
    parser: argparse.ArgumentParser, argv: list[str], args: argparse.Namespace, defaults: Defaults
) -> argparse.Namespace:
    """``args`` (parsed from ``argv``) with the file's values for every option the command line did not give."""
    if not defaults.values:
        return args
    given = _explicit(parser, argv, list(vars(args)))
    values = dict(defaults.values)
    for pair in EXCLUSIVE:
        dests = [option.replace("-", "_") for option in pair]
        if any(dest in given for dest in dests):
            for dest in dests:
                values.pop(dest, None)
    merged = vars(args) | {dest: value for dest, value in values.items() if dest not in given}
    return argparse.Namespace(**merged)


def load_into(parser: argparse.ArgumentParser, argv: list[str], args: argparse.Namespace) -> argparse.Namespace:
    """The command line's ``args`` with the defaults file applied (none with ``--no-config``)."""
    if getattr(args, "no_config", False):
        return args
    return apply_defaults(parser, argv, args, read_defaults(parser, config_path()))
