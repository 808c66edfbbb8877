#!/usr/bin/env bash
# Sets up ./.venv with tfattr, then runs `tfattr demo` (offline). Arguments go to `tfattr demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/_venv.sh .venv
exec .venv/bin/tfattr demo "$@"
