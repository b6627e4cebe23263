#!/usr/bin/env bash
# Regenerate docs/screenshots/*.png (the README's and docs/app.md's pictures): scripts/screenshots.py
# builds the demo site in a temporary folder, starts the app and saves every page as Chromium draws it.
# Run by hand, look at the pictures, then commit them. The test suite never runs this and writes its
# own screenshots only to a temporary folder, so a clean checkout stays clean after it.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python scripts/screenshots.py "$@"
