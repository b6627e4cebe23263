#!/usr/bin/env bash
# Run the demo from a fresh clone: set-up, then simulated meters, the collector and the app on SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/nxforge demo "$@"
