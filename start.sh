#!/usr/bin/env bash
# Set up learnbackend in ./.venv (first run only) and start the course.
# Any arguments are passed to learnbackend:  bash start.sh quiz start --branch databases
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/learnbackend ] || [ pyproject.toml -nt .venv/.installed ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e .
    touch .venv/.installed
fi
exec .venv/bin/learnbackend "$@"
