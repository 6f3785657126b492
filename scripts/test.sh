#!/usr/bin/env bash
# README's test command: set up what the tests need, then run them (arguments go to pytest).
#
# On a fresh Debian machine it installs, once each:
#   - the system packages the window and stream tests drive (Xvfb, openbox, xdotool, ImageMagick, ffmpeg, ...),
#     with apt-get (as root, or through sudo), only when one is missing;
#   - a virtual environment .venv holding exactly requirements/dev.lock (the versions the suite passed on, with
#     their hashes) and bgblur itself, editable; reinstalled only when the lock or pyproject.toml changed;
#   - MediaPipe's pose model, into the checkout's models/ (bgblur --download pose checks it, fetches it only when
#     missing).
# then runs the linters and the tests: with no arguments the unit tests on every core, then the end-to-end runs one at
# a time; with arguments, pytest with those. Run again, it skips what is already there. The test data is the shared
# folder, ../shared beside this checkout (or $BGBLUR_SHARED).
#
#   scripts/test.sh --newest [pytest args]   the same suite in .venv-newest, on the newest releases that
#                                            pyproject.toml's ranges allow, after printing what differs from the lock
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

# The virtual environment: the lock's exact versions (CI and every developer test the same thing), or with
# --newest the newest releases inside pyproject.toml's ranges (to find out early what a release upstream breaks).
venv=.venv newest=0
if [[ ${1:-} == --newest ]]; then
    shift
    venv=.venv-newest newest=1
fi
[[ -x $venv/bin/python ]] || { say "making $venv"; python3 -m venv "$venv"; }
# shellcheck disable=SC1091
. "$venv/bin/activate"
stamp=$venv/.bgblur-dev-installed
wanted=$(cat pyproject.toml requirements/dev.lock | sha256sum | cut -d' ' -f1)
if ((newest)); then
    say "installing the newest releases pyproject.toml allows into $venv"
    python -m pip install -q --upgrade pip
    python -m pip install -q --upgrade --upgrade-strategy eager -e '.[dev]'
    say "versions that differ from requirements/dev.lock (lock -> installed):"
    python - <<'PY'
import re
from importlib.metadata import distributions

locked = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)", open("requirements/dev.lock").read(), re.M))
locked = {re.sub(r"[-_.]+", "-", k).lower(): v for k, v in locked.items()}
for dist in sorted(distributions(), key=lambda d: d.metadata["Name"].lower()):
    name = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
    if name in locked and locked[name] != dist.version:
        print(f"  {name}: {locked[name]} -> {dist.version}")
PY
elif [[ ! -f $stamp || $(cat "$stamp") != "$wanted" ]]; then
    say "installing requirements/dev.lock and bgblur into $venv"
    python -m pip install -q 'pip==26.3'  # the pip the lock was tested with (it honours Requires-Python)
    python -m pip install -q --require-hashes -r requirements/dev.lock
    python -m pip install -q --no-deps -e .
    echo "$wanted" >"$stamp"
fi

# MediaPipe's pose model (--presence face-or-pose tests) is not in ../shared: fetched from the pinned mediapipe
# wheel on PyPI into the checkout's models/, or kept when already there and matching its pin (no request then).
if [[ -z ${BGBLUR_POSE_MODEL:-} ]]; then
    BGBLUR_MODELS="$PWD/models" python -m bgblur --download pose --quiet >/dev/null
fi

ruff check .
ruff format --check .
# The tests run bgblur as a user would: never with your own defaults file (~/.config/bgblur/config.toml).
export BGBLUR_CONFIG=
if (($#)); then
    exec python -m pytest "$@"
fi
# The whole suite in two parts: the unit tests spread over the cores (pytest-xdist; the tests sharing the developer
# set's evaluation stay in one worker), then the end-to-end runs one at a time (they measure frame rates, drive real
# windows and streams: a busy neighbour would make them flaky). Both parts always run; either failing fails.
cores=$(python -c 'from bgblur.threads import usable_cores; print(usable_cores())')
status=0
python -m pytest -m "not e2e" -n "$cores" --dist loadgroup || status=$?
python -m pytest -m e2e || status=$?
exit "$status"
