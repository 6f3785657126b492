#!/usr/bin/env bash
# Write requirements/dev.lock: the exact versions (with hashes) that scripts/test.sh, and so CI, installs.
# Run it after changing a range in pyproject.toml, then run scripts/test.sh and commit both when it passes.
# uv (a well-kept resolver, much faster than pip-tools) only writes the lock; installing it needs nothing but pip.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
if ! command -v uv >/dev/null || [[ $(uv --version | cut -d' ' -f2) != "$UV_VERSION" ]]; then
    [[ -x .cache/uv/bin/uv ]] || { python3 -m venv .cache/uv && .cache/uv/bin/pip install -q "uv==$UV_VERSION"; }
    PATH="$PWD/.cache/uv/bin:$PATH"
fi
# --universal: one lock for every Python bgblur supports (3.10 up) and platform, markers where they differ.
uv pip compile pyproject.toml --extra dev --universal --python-version 3.10 --generate-hashes \
    --constraint requirements/constraints.txt --no-header --output-file requirements/dev.lock "$@"
sed -i '1i # The exact versions the suite passed on, installed by scripts/test.sh. Made by scripts/lock.sh: do not edit.' \
    requirements/dev.lock
