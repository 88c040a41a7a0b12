#!/usr/bin/env bash
# Set up learnbackend with its test dependencies in ./.venv and run the whole test suite.
# Tests that need an absent engine (Docker, QEMU, Redis) skip with the reason, unless
# LEARNBACKEND_REQUIRE_ENGINES=1 (as in CI), which turns those skips into failures.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/pytest ] || [ pyproject.toml -nt .venv/.installed-test ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[test]'
    touch .venv/.installed-test
fi
export PATH="$PWD/.venv/bin:$PATH"
exec .venv/bin/python -m pytest "$@"
