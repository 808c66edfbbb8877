#!/usr/bin/env bash
# Sets up ./.venv (Python >= 3.10) with tfattr and its test dependencies, then runs the whole suite.
# Extra arguments go to pytest, e.g. ./scripts/test.sh tests/methods -k ig
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
exec .venv/bin/python -m pytest -n "${TFATTR_TEST_WORKERS:-2}" "$@"
