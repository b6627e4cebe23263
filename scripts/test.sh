#!/usr/bin/env bash
# Run the whole test suite from a fresh clone: set-up, lint, types, the layer contracts (import-linter,
# contracts in pyproject.toml), then pytest on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
NXFORGE_SETUP_POSTGRES=1 NXFORGE_SETUP_NGINX=1 bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/mypy
PYTHONPATH=modules .venv/bin/lint-imports --no-cache
.venv/bin/python -m pytest "$@"
