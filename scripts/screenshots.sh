#!/usr/bin/env bash
# Regenerate docs/screenshots/*.png (the README's and docs/app.md's pictures) from the browser tests.
# Run by hand, look at the pictures, then commit them: the test suite itself writes screenshots only
# to a temporary folder, so a clean checkout stays clean after it.
set -euo pipefail
cd "$(dirname "$0")/.."
NXFORGE_SCREENSHOTS_DIR="$PWD/docs/screenshots" .venv/bin/python -m pytest -q -p no:cacheprovider -m browser \
    tests/app/test_browser.py tests/app/test_consumption_browser.py "$@"
