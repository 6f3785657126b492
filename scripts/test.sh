#!/usr/bin/env bash
# README's test command: set up what the tests need, then run them (arguments go to pytest).
#
# On a fresh Debian machine it installs, once each:
#   - the system packages the window and stream tests drive (Xvfb, openbox, xdotool, ImageMagick, ffmpeg, ...),
#     with apt-get (as root, or through sudo), only when one is missing;
#   - a virtual environment .venv with bgblur and its test extras (again only when pyproject.toml changed);
#   - MediaPipe's pose model (scripts/download_models.py --pose checks it and fetches it only when missing).
# then runs the linters and the tests. Run again, it skips what is already there. The test data is the shared
# folder, ../shared beside this checkout (or $BGBLUR_SHARED).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'test.sh: %s\n' "$*" >&2; }

# Windows under Xvfb (openbox as the window manager) driven by xdotool, screenshots with ImageMagick, live
# streams and audio muxing with ffmpeg, a font for the overlays.
PACKAGES=(xvfb xauth openbox xdotool imagemagick x11-utils ffmpeg fonts-dejavu-core)
if command -v dpkg-query >/dev/null; then
    missing=()
    for package in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
    done
    python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)  # Debian splits venv out of python3
    if ((${#missing[@]})); then
        sudo=()
        if [[ $(id -u) -ne 0 ]]; then
            command -v sudo >/dev/null || { say "as root, run: apt-get install ${missing[*]}"; exit 1; }
            sudo=(sudo)
        fi
        say "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        "${sudo[@]}" apt-get update -qq
        "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
else
    say "not Debian: install ${PACKAGES[*]} (or your system's equivalents) yourself"
fi

# The virtual environment, with bgblur (editable) and the test extras; reinstalled when pyproject.toml changes.
[[ -x .venv/bin/python ]] || { say "making .venv"; python3 -m venv .venv; }
# shellcheck disable=SC1091
. .venv/bin/activate
stamp=.venv/.bgblur-dev-installed
wanted=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$wanted" ]]; then
    say "installing bgblur and its test extras into .venv"
    python -m pip install -q --upgrade pip
    python -m pip install -q -e '.[dev]'
    echo "$wanted" >"$stamp"
fi

# MediaPipe's pose model (--presence face-or-pose tests) is not in ../shared: fetched from the pinned mediapipe
# wheel on PyPI, or kept when already there and matching its pin.
if [[ -z ${BGBLUR_POSE_MODEL:-} ]]; then
    python scripts/download_models.py --pose >/dev/null
fi

ruff check .
ruff format --check .
# The tests run bgblur as a user would: never with your own defaults file (~/.config/bgblur/config.toml).
export BGBLUR_CONFIG=
exec python -m pytest "$@"
