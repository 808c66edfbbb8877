#!/usr/bin/env bash
# Sets up ./.venv with tfattr, then runs `tfattr demo` (offline). Arguments go to `tfattr demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
exec .venv/bin/tfattr demo "$@"
