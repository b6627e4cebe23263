#!/usr/bin/env bash
# Run the demo from a fresh clone: set-up, then simulated meters, the collector and the app on SQLite.
# Options go to `nxforge demo` (e.g. --address 0.0.0.0 to leave 127.0.0.1, -v for a line per request).
# `exec` makes the demo this shell's process, so Ctrl-C and SIGTERM reach it and it stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/nxforge demo "$@"
