#!/usr/bin/env bash
# Run the whole test suite from a fresh clone: set-up, lint, types, the layer contracts (import-linter,
# contracts in pyproject.toml), then pytest on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
NXFORGE_SETUP_POSTGRES=1 NXFORGE_SETUP_NGINX=1 bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports --no-cache
# Two workers by default (pytest-xdist), a test file per worker so a file's shared server starts once;
# NXFORGE_TEST_WORKERS=0 runs everything in one process. The slowest tests are listed at the end, to
# keep the whole run under 20 minutes.
.venv/bin/python -m pytest -n "${NXFORGE_TEST_WORKERS:-2}" --dist loadfile --durations=20 "$@"
