#!/usr/bin/env bash
# Run the whole test suite from a fresh clone: set-up, lint, types, then pytest on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
NXFORGE_SETUP_POSTGRES=1 bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
