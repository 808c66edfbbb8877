#!/usr/bin/env bash
# Installs Debian's chromium for the headless-browser test of the HTML reports
# (tests/report/test_browser.py). Idempotent: does nothing when chromium is already there, or
# when this is not a Debian/Ubuntu machine with root (the test then skips and says why).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
  echo "chromium is absent and cannot be installed here (needs apt-get as root):" \
    "the browser test of the reports will be skipped" >&2
  exit 0
fi
echo "installing chromium for the browser test of the reports" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
